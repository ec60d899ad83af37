"""Tokenizer stage on onnxruntime-extensions' ``SentencepieceTokenizer`` op (Unigram models: XLM-R,
multilingual-e5, paraphrase-multilingual, T5 encoders, CamemBERT, ...).

The op runs a sentencepiece ``ModelProto``. Rather than the model's original .model file (which a
folder saved by transformers 5 no longer holds, and whose ids are not Hugging Face's), the model is
written from tokenizer.json, what Hugging Face itself runs: the Unigram pieces and scores in
Hugging Face's id order, the normalizer's precompiled character map, and the model's special
tokens as control pieces, which the op never produces from text. So the op's ids are already
Hugging Face's: XLM-R's fairseq offset (``<s> <pad> </s> <unk>`` first) and T5's layout
(``<pad> </s> <unk>``, extra ids last) need no remapping, and ``<unk>`` maps to the model's own.

The op's outputs are ragged (int32 ids plus per-text offsets); the stage casts the ids to int64
and adds the post-processor's specials (XLM-R: ``<s> ... </s>``; T5: ``... </s>``) with Hugging
Face's truncation (``op_stage``). Behaviour of the op (extensions 0.10.1, 0.12.0, 0.15.2): inputs
text, nbest_size, alpha, add_bos, add_eos, add_rev (and an optional ``fairseq`` flag, unused
here); the text is read only up to its first NUL.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import onnx
from embedpipe import contract
from embedpipe.components import Limitation, TokenizerOptions
from embedpipe.errors import UnsupportedModelError
from embedpipe.source import ModelSource
from embedpipe_tokenizers.ops import op_limits
from embedpipe_tokenizers.ops.op_stage import build_op_pair_stage, build_op_stage, op_stage_ids, pair_template, special_ids
from embedpipe_tokenizers.toolkit.graph import GraphBuilder
from onnx import TensorProto

FIX = "use a tokenizer plugin that implements this Unigram configuration (docs/plugins.md)"
# A normalizer step that only does what sentencepiece's remove_extra_whitespaces does anyway.
_SPACE_RUNS = {"type": "Replace", "pattern": {"Regex": " {2,}"}, "content": " "}


def _charsmap(normalizer: dict | None, path: Path) -> bytes:
    """The precompiled character map of the normalizer; refuse any step sentencepiece does not run."""
    steps = [] if normalizer is None else normalizer.get("normalizers", [normalizer]) if normalizer.get("type") == "Sequence" else [normalizer]
    charsmap = b""
    for step in steps:
        if step.get("type") == "Precompiled":
            charsmap = base64.b64decode(step.get("precompiled_charsmap") or "")
        elif step != _SPACE_RUNS:
            raise UnsupportedModelError(f"{path}: normalizer step {step.get('type')} is not one sentencepiece runs", FIX)
    return charsmap


def _check_metaspace(pre: dict | None, path: Path) -> None:
    """Hugging Face's split on spaces with a "▁" before the text is sentencepiece's own pre-tokenization."""
    steps = (pre or {}).get("pretokenizers", [pre]) if (pre or {}).get("type") == "Sequence" else [pre or {}]
    kinds = [step.get("type") for step in steps]
    if kinds not in (["Metaspace"], ["WhitespaceSplit", "Metaspace"]):
        raise UnsupportedModelError(f"{path}: pre-tokenizer {' + '.join(map(str, kinds))} is not sentencepiece's", FIX)
    meta = steps[-1]
    prepends = meta.get("prepend_scheme", "always" if meta.get("add_prefix_space", True) else "never") != "never"
    if meta.get("replacement", "\u2581") != "\u2581" or not prepends or not meta.get("split", True):
        raise UnsupportedModelError(f"{path}: Metaspace settings {meta} are not sentencepiece's defaults", FIX)


def sentencepiece_model(data: dict, path: Path) -> bytes:
    """A serialized sentencepiece ModelProto equivalent to tokenizer.json's Unigram model, in Hugging Face's ids."""
    from sentencepiece import sentencepiece_model_pb2 as pb

    model = data.get("model") or {}
    if model.get("type") != "Unigram":
        raise UnsupportedModelError(f"{path} holds a {model.get('type')} tokenizer, not Unigram", FIX)
    if model.get("byte_fallback"):
        raise UnsupportedModelError(f"{path}: Unigram with byte fallback is not implemented by this stage", FIX)
    _check_metaspace(data.get("pre_tokenizer"), path)
    unk_id = model.get("unk_id")
    if unk_id is None:
        raise UnsupportedModelError(f"{path}: the Unigram model names no unknown token", FIX)
    added = {token["content"]: bool(token.get("special")) for token in data.get("added_tokens", [])}
    proto = pb.ModelProto()
    for index, (piece, score) in enumerate(model["vocab"]):
        if index == unk_id:
            kind = pb.ModelProto.SentencePiece.UNKNOWN
        elif piece in added:
            kind = pb.ModelProto.SentencePiece.CONTROL if added[piece] else pb.ModelProto.SentencePiece.USER_DEFINED
        else:
            kind = pb.ModelProto.SentencePiece.NORMAL
        proto.pieces.add(piece=piece, score=score, type=kind)
    proto.trainer_spec.model_type = pb.TrainerSpec.UNIGRAM
    proto.trainer_spec.vocab_size = len(model["vocab"])
    proto.trainer_spec.unk_id = unk_id
    proto.trainer_spec.unk_piece = model["vocab"][unk_id][0]
    proto.trainer_spec.bos_id = proto.trainer_spec.eos_id = proto.trainer_spec.pad_id = -1  # the stage adds specials
    spec = proto.normalizer_spec
    spec.name = "tokenizer.json"
    spec.precompiled_charsmap = _charsmap(data.get("normalizer"), path)
    spec.add_dummy_prefix = spec.remove_extra_whitespaces = spec.escape_whitespaces = True
    return proto.SerializeToString()


def build_sentencepiece_op_graph(
    tokenizer_json: Path,
    max_length: int,
    *,
    with_token_type_ids: bool,
    opset: int = contract.DEFAULT_OPSET,
    pair: bool = False,
) -> onnx.ModelProto:
    """The tokenizer stage: ``input`` string [1] -> the op's ragged int32 ids -> int64 [1, S] with specials.
    ``pair``: ``first_input`` and ``second_input`` instead, encoded as Hugging Face encodes a pair."""
    path = Path(tokenizer_json)
    data = json.loads(path.read_text(encoding="utf-8"))
    vocab = {piece: index for index, (piece, _) in enumerate((data.get("model") or {}).get("vocab", []))}
    model_bytes = sentencepiece_model(data, path)
    before, after = special_ids(data.get("post_processor"), vocab, FIX)

    def op_ids(g: GraphBuilder, text: str) -> str:
        # nbest_size, alpha, add_bos, add_eos, add_rev: one best segmentation, no specials of its own.
        switches = [g.scalar(0, shape=(1,)), g.const([0.0], "alpha", dtype=np.float32), *[g.scalar(False, bool, shape=(1,))] * 3]
        ids32, _ = g.ops(
            "SentencepieceTokenizer", text, *switches,
            outputs=2, hint="sentencepiece", domain=contract.EXTENSIONS_DOMAIN, model=model_bytes,
        )
        return g.cast(ids32, TensorProto.INT64)

    if pair:
        return build_op_pair_stage(
            "sentencepiece_op_pair_stage", op_ids, pair_template(data.get("post_processor"), vocab, FIX),
            max_length=max_length, with_token_type_ids=with_token_type_ids, opset=opset,
        )
    nodes, ids, tables = op_stage_ids(op_ids)
    return build_op_stage(
        "sentencepiece_op_stage", nodes, ids,
        max_length=max_length, prefix_ids=before, suffix_ids=after,
        with_token_type_ids=with_token_type_ids, opset=opset, initializers=tables,
    )


class SentencepieceOpTokenizer:
    """Unigram models on the SentencepieceTokenizer op. Not exact on every input: the classes it
    misses are declared with measured rates (``op_limits``)."""

    limitations: Sequence[Limitation] = op_limits.UNIGRAM

    def build_graph(self, source: ModelSource, options: TokenizerOptions) -> onnx.ModelProto:
        op_limits.refuse_what_ops_cannot(options, "SentencepieceTokenizer")
        return build_sentencepiece_op_graph(
            source.ensure_tokenizer_json(), options.max_length,
            with_token_type_ids=options.with_token_type_ids, opset=options.opset, pair=options.pair,
        )
