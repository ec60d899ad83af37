"""What every extension-op tokenizer stage shares: Hugging Face's special tokens and truncation,
done with standard ops around the op.

The extension ops (BertTokenizer, GPT2Tokenizer, RobertaTokenizer, SentencepieceTokenizer) either
add special tokens of their own choosing or none, and never truncate the way Hugging Face does
(slicing their output drops the final ``[SEP]``/``</s>``). So each stage drops what its op added,
keeps at most ``max_length`` minus the model's special tokens of the body, and wraps the body in
the specials the model's post-processor declares.

A pair stage (``build_op_pair_stage``) runs the op once per side inside toolkit/pairs.py's Loop:
each side's op ids without the op's specials are the family body ``pair_stage`` expects, so the
truncation and the pair template are the exact stages' own.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

import numpy as np
import onnx
from embedpipe import contract
from embedpipe.errors import ConfigError, UnsupportedModelError
from embedpipe_tokenizers.toolkit.graph import INT64_MAX, GraphBuilder
from embedpipe_tokenizers.toolkit.pairs import pair_budget, pair_stage
from embedpipe_tokenizers.toolkit.spec import Template, parse_template
from onnx import TensorProto, helper, numpy_helper

# (builder, text tensor [1]) -> the op's ids of the text (1-D int64), the op's own specials included.
OpIds = Callable[[GraphBuilder, str], str]

MIN_OPSET = 13  # Unsqueeze and Squeeze take their axes as an input from opset 13 on


def special_ids(post: Mapping | None, vocab: Mapping[str, int], fix: str) -> tuple[list[int], list[int]]:
    """Ids Hugging Face puts before and after a single text, from tokenizer.json's post_processor."""
    if post is None:
        return [], []
    kind = post.get("type")
    if kind == "ByteLevel":  # offsets only, no tokens
        return [], []
    if kind == "Sequence":
        before: list[int] = []
        after: list[int] = []
        for step in post.get("processors", []):
            step_before, step_after = special_ids(step, vocab, fix)
            before, after = step_before + before, after + step_after
        return before, after
    if kind in ("BertProcessing", "RobertaProcessing"):
        return [post["cls"][1]], [post["sep"][1]]
    if kind == "TemplateProcessing":
        before, after = [], []
        seen_text = False
        for piece in post["single"]:
            if "Sequence" in piece:
                seen_text = True
                continue
            name = piece["SpecialToken"]["id"]
            ids = post["special_tokens"][name]["ids"] if name in post.get("special_tokens", {}) else [vocab[name]]
            (after if seen_text else before).extend(ids)
        return before, after
    raise UnsupportedModelError(f"post-processor {kind} is not one an extension-op tokenizer stage can reproduce", fix)


def token_content(value: object) -> str | None:
    """A special token as tokenizer_config.json writes it: a string or an AddedToken dict."""
    return value.get("content") if isinstance(value, dict) else value  # type: ignore[return-value]


def _int64(name: str, values: Sequence[int]) -> TensorProto:
    return numpy_helper.from_array(np.array(values, dtype=np.int64), name)


def check_opset(opset: int) -> None:
    if not MIN_OPSET <= opset <= contract.MAX_OPSET:
        raise ConfigError(f"opset {opset} is outside {MIN_OPSET}..{contract.MAX_OPSET}", "pass a supported opset")


def _pad_when_empty() -> list[onnx.NodeProto]:
    """``ids`` -> ``padded_ids``: ``ids`` plus one ``pad`` exactly when ``ids`` is empty."""
    return [
        helper.make_node("Size", ["ids"], ["count"]),
        helper.make_node("Reshape", ["count", "one_dim"], ["count_1d"]),
        helper.make_node("Equal", ["count", "zero_scalar"], ["is_empty"]),
        helper.make_node("Cast", ["is_empty"], ["pads"], to=TensorProto.INT64),
        helper.make_node("Reshape", ["pads", "one_dim"], ["pad_count"]),
        helper.make_node("Slice", ["pad", "zero", "pad_count"], ["pad_part"]),
        helper.make_node("Concat", ["ids", "pad_part"], ["padded_ids"], axis=0),
    ]


def _mask(has_specials: bool) -> list[onnx.NodeProto]:
    """``attention_mask``: 1 for every token, 0 for the pad an empty text gets."""
    ones = helper.make_node("ConstantOfShape", ["ids_shape"], [contract.ATTENTION_MASK], value=_int64("one_value", [1]))
    if has_specials:
        return [ones]
    return [
        helper.make_node("Concat", ["one_dim", "count_1d"], ["real_shape"], axis=0),
        helper.make_node("Concat", ["one_dim", "pad_count"], ["pad_shape"], axis=0),
        helper.make_node("ConstantOfShape", ["real_shape"], ["real_mask"], value=_int64("one_value", [1])),
        helper.make_node("ConstantOfShape", ["pad_shape"], ["pad_mask"], value=_int64("zero_value", [0])),
        helper.make_node("Concat", ["real_mask", "pad_mask"], [contract.ATTENTION_MASK], axis=1),
    ]


def build_op_stage(
    name: str,
    op_nodes: Sequence[onnx.NodeProto],
    op_ids: str,
    *,
    max_length: int,
    prefix_ids: Sequence[int],
    suffix_ids: Sequence[int],
    with_token_type_ids: bool,
    opset: int,
    drop_front: int = 0,
    drop_back: int = 0,
    pad_id: int = 0,
    initializers: Sequence[TensorProto] = (),
) -> onnx.ModelProto:
    """The tokenizer stage: ``op_nodes`` turn ``input`` into ``op_ids`` (int64, 1-D), then standard ops
    drop the ``drop_front``/``drop_back`` ids the op added, keep what fits and add the model's specials.

    Output: ``input_ids``, ``attention_mask`` (and ``token_type_ids``, all zero), int64 [1, S].
    Without specials an empty text has no tokens, which an exported encoder cannot take (S = 0);
    the stage then gives one ``pad_id`` with mask 0, as Hugging Face pads it in a batch, so the
    pooled vector is sentence-transformers' (zero) one.
    """
    check_opset(opset)
    body_max = max_length - len(prefix_ids) - len(suffix_ids)
    if body_max < 0:
        raise ConfigError(f"max_length {max_length} is shorter than the special tokens", "raise max_length")
    nodes = [
        *op_nodes,
        helper.make_node("Slice", [op_ids, "body_start", "body_end"], ["body"]),
        helper.make_node("Slice", ["body", "zero", "body_max"], ["kept"]),
        helper.make_node("Concat", ["prefix_ids", "kept", "suffix_ids"], ["ids"], axis=0),
        *([] if prefix_ids or suffix_ids else _pad_when_empty()),
        helper.make_node("Unsqueeze", ["ids" if prefix_ids or suffix_ids else "padded_ids", "zero"], [contract.INPUT_IDS]),
        helper.make_node("Shape", [contract.INPUT_IDS], ["ids_shape"]),
        *_mask(bool(prefix_ids or suffix_ids)),
    ]
    outputs = [contract.INPUT_IDS, contract.ATTENTION_MASK]
    if with_token_type_ids:
        nodes.append(helper.make_node("ConstantOfShape", ["ids_shape"], [contract.TOKEN_TYPE_IDS], value=_int64("zero_value", [0])))
        outputs.append(contract.TOKEN_TYPE_IDS)
    tables = [
        *initializers,
        _int64("zero", [0]), _int64("body_max", [body_max]),
        _int64("body_start", [drop_front]), _int64("body_end", [-drop_back if drop_back else INT64_MAX]),
        _int64("prefix_ids", prefix_ids), _int64("suffix_ids", suffix_ids),
    ]
    if not (prefix_ids or suffix_ids):
        tables += [_int64("pad", [pad_id]), _int64("one_dim", [1]), numpy_helper.from_array(np.array(0, dtype=np.int64), "zero_scalar")]
    graph = helper.make_graph(
        nodes, name,
        [helper.make_tensor_value_info(contract.TEXT, TensorProto.STRING, [1])],
        [helper.make_tensor_value_info(output, TensorProto.INT64, [1, "sequence"]) for output in outputs],
        tables,
    )
    model = helper.make_model(
        graph,
        opset_imports=[helper.make_opsetid("", opset), helper.make_opsetid(contract.EXTENSIONS_DOMAIN, 1)],
        ir_version=contract.DEFAULT_IR_VERSION,
        producer_name="embedpipe",
    )
    onnx.checker.check_model(model)
    return model


def pair_template(post: Mapping | None, vocab: Mapping[str, int], fix: str) -> Template:
    """The post-processor's template with its pair form (ByteLevel steps add no token)."""
    steps = post.get("processors", []) if post and post.get("type") == "Sequence" else [post] if post else []
    adding = [step for step in steps if step.get("type") != "ByteLevel"]
    if len(adding) > 1:
        raise UnsupportedModelError("a post-processor Sequence with more than one step adding tokens", fix)
    return parse_template(adding[0] if adding else None, dict(vocab), UnsupportedModelError)


def op_stage_ids(op_ids: OpIds) -> tuple[list[onnx.NodeProto], str, list[TensorProto]]:
    """The nodes, ids and constants ``op_ids`` makes of ``input``, for ``build_op_stage``."""
    g = GraphBuilder(contract.DEFAULT_OPSET, "op")
    ids = op_ids(g, contract.TEXT)
    return g.nodes, ids, g.initializers


def build_op_pair_stage(
    name: str,
    op_ids: OpIds,
    template: Template,
    *,
    max_length: int,
    with_token_type_ids: bool,
    opset: int,
    drop_front: int = 0,
    drop_back: int = 0,
) -> onnx.ModelProto:
    """The pair stage: ``first_input`` and ``second_input`` -> the op on each side inside the Loop of
    toolkit/pairs.py, less the ``drop_front``/``drop_back`` ids the op adds, then Hugging Face's
    longest_first truncation and the pair template."""
    check_opset(opset)
    budget = pair_budget(template, max_length, "")

    def body_ids(b: GraphBuilder, text: str, max_words: int | None) -> str:
        """The side's ids without specials; when capped, its first ``max_words`` tokens (exact: the op
        tokenizes the whole side anyway)."""
        end = -drop_back if drop_back else INT64_MAX
        body = b.op("Slice", op_ids(b, text), b.scalar(drop_front, shape=(1,)), b.scalar(end, shape=(1,)))
        return body if max_words is None else b.op("Slice", body, b.scalar(0, shape=(1,)), b.scalar(max_words, shape=(1,)))

    g = GraphBuilder(opset, op_profile=contract.ORACLE_PROFILE)
    return pair_stage(g, body_ids, template, budget, with_token_type_ids=with_token_type_ids, name=name)
