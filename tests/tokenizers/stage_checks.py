"""Checks every exact tokenizer stage's tests share: edited tokenizer.json variants, added-token
entries, and the proof that Oracle's two runtimes give Hugging Face's ids."""

from __future__ import annotations

import json
import pathlib
from collections.abc import Callable, Sequence

import onnx
from embedpipe import contract
from onnx import TensorProto, helper
from tokenizers import Tokenizer


def save_tokenizer_folder(folder: pathlib.Path, tok: Tokenizer, config: dict[str, object]) -> pathlib.Path:
    """``folder`` with ``tok`` as tokenizer.json and ``config`` as tokenizer_config.json, as transformers saves them."""
    folder.mkdir(parents=True, exist_ok=True)
    tok.save(str(folder / "tokenizer.json"))
    (folder / "tokenizer_config.json").write_text(json.dumps(config), encoding="utf-8")
    return folder


# The tokenizer_config.json transformers writes for GPT2.
GPT2_TOKENIZER_CONFIG: dict[str, object] = {
    "tokenizer_class": "GPT2Tokenizer",
    "model_max_length": 1024,
    "bos_token": "<|endoftext|>",
    "eos_token": "<|endoftext|>",
    "unk_token": "<|endoftext|>",
    "add_prefix_space": False,
}


def roberta_tokenizer_config(add_prefix_space: bool) -> dict[str, object]:
    """The tokenizer_config.json transformers writes for a RoBERTa-style byte-level BPE tokenizer."""
    specials = {"bos_token": "<s>", "eos_token": "</s>", "sep_token": "</s>", "cls_token": "<s>"}
    others = {"unk_token": "<unk>", "pad_token": "<pad>", "mask_token": "<mask>"}
    return {
        "tokenizer_class": "RobertaTokenizer",
        "model_max_length": 512,
        "add_prefix_space": add_prefix_space,
        "trim_offsets": True,
        "errors": "replace",
        **specials,
        **others,
    }


def edited_tokenizer_json(tokenizer_json: pathlib.Path, tmp_path: pathlib.Path, edit: Callable[[dict], object]) -> pathlib.Path:
    """A copy of ``tokenizer_json`` with ``edit`` applied to its parsed content."""
    config = json.loads(tokenizer_json.read_text(encoding="utf-8"))
    edit(config)
    path = tmp_path / "tokenizer.json"
    path.write_text(json.dumps(config, ensure_ascii=False), encoding="utf-8")
    return path


def added_token(content: str, token_id: int, **flags: bool) -> dict[str, object]:
    """An ``added_tokens`` entry of tokenizer.json: special, every flag off unless given."""
    return {
        "id": token_id,
        "content": content,
        "single_word": False,
        "lstrip": False,
        "rstrip": False,
        "normalized": False,
        "special": True,
        **flags,
    }


def _ids_as_embedding(model: onnx.ModelProto, max_length: int) -> onnx.ModelProto:
    """The stage with one more output, ``embedding``: the ids as float32 padded with -1 to
    ``max_length``, so that the compatibility runner (which compares float vectors of one width)
    can carry them out of each runtime."""
    model = type(model).FromString(model.SerializeToString())
    model.graph.initializer.extend(
        [
            helper.make_tensor("ids_test/max_length", TensorProto.INT64, [1], [max_length]),
            helper.make_tensor("ids_test/zeros", TensorProto.INT64, [3], [0, 0, 0]),
            helper.make_tensor("ids_test/one", TensorProto.INT64, [1], [1]),
            helper.make_tensor("ids_test/minus_one", TensorProto.FLOAT, [], [-1.0]),
        ]
    )
    model.graph.node.extend(
        [
            helper.make_node("Shape", [contract.INPUT_IDS], ["ids_test/shape"]),
            helper.make_node("Gather", ["ids_test/shape", "ids_test/one"], ["ids_test/size"]),
            helper.make_node("Sub", ["ids_test/max_length", "ids_test/size"], ["ids_test/room"]),
            helper.make_node("Concat", ["ids_test/zeros", "ids_test/room"], ["ids_test/pads"], axis=0),
            helper.make_node("Cast", [contract.INPUT_IDS], ["ids_test/ids"], to=TensorProto.FLOAT),
            helper.make_node("Pad", ["ids_test/ids", "ids_test/pads", "ids_test/minus_one"], [contract.EMBEDDING]),
        ]
    )
    model.graph.output.append(helper.make_tensor_value_info(contract.EMBEDDING, TensorProto.FLOAT, [1, max_length]))
    return model


def assert_old_runtimes_give_reference_ids(
    model: onnx.ModelProto,
    max_length: int,
    texts: Sequence[str],
    reference_ids: Callable[[Sequence[str]], list[list[int]]],
    tmp_path: pathlib.Path,
) -> None:
    """ONNX Runtime 1.15.1 and 1.20.1 (Oracle 23ai and 26ai) load the stage and give ``reference_ids``.

    A stage records no profile: the op rule checked is that of the profile whose ops it uses.
    """
    from embedpipe.compat import check_compat
    from embedpipe.oprule import fitting_profile

    path = tmp_path / "stage.onnx"
    onnx.save(_ids_as_embedding(model, max_length), str(path))
    report = check_compat(path, texts, op_profile=fitting_profile(model) or contract.DEFAULT_OP_PROFILE)
    assert report.ok, report.table()
    assert {run.name for run in report.runs} == {"current", "ort-1.15.1", "ort-1.20.1"}
    for run in report.runs:
        for text, row, want in zip(texts, run.vectors, reference_ids(texts)):
            got = [int(v) for v in row if v >= 0]
            assert got == want, f"{run.name}: {text!r}"
