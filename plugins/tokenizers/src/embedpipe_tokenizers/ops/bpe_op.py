"""Tokenizer stages on onnxruntime-extensions' ``GPT2Tokenizer`` and ``RobertaTokenizer`` ops
(byte-level BPE: GPT2, RoBERTa, DistilRoBERTa, BART, ...), configured from tokenizer.json.

Both ops run the same byte-level BPE kernel; they differ only in the special tokens hard-wired
into them: GPT2Tokenizer knows ``<|endoftext|>`` and adds nothing, RobertaTokenizer knows
``<unk> <s> </s> <pad>`` and wraps the text in ``<s> ... </s>``. Whatever the op adds is dropped
and the model's own post-processor specials are added with standard ops, with Hugging Face's
truncation (``op_stage``), so eos-appending post-processors work with either op.

Everything comes from tokenizer.json (a folder with only vocab.json + merges.txt gets one converted
by transformers), never from transformers' objects: ``gen_processing_models`` breaks on
transformers 5. Behaviour of the ops, measured with extensions 0.10.1, 0.12.0 and 0.15.2:
attributes ``vocab`` (vocab.json's text), ``merges`` (merges.txt's text; a first line starting
with "#" is skipped as a header), ``padding_length`` (-1: no padding, no truncation); the text is
read only up to its first NUL; the op's own special tokens are split out of the text (and get a
new id past the vocabulary if the vocabulary lacks them, hence the check below); no
``add_prefix_space``.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import onnx
from embedpipe import contract
from embedpipe.components import Limitation, TokenizerOptions
from embedpipe.errors import UnsupportedModelError
from embedpipe.source import ModelSource
from embedpipe_tokenizers.ops import op_limits
from embedpipe_tokenizers.ops.op_stage import (
    build_op_pair_stage,
    build_op_stage,
    op_stage_ids,
    pair_template,
    special_ids,
    token_content,
)
from embedpipe_tokenizers.toolkit.graph import GraphBuilder
from embedpipe_tokenizers.toolkit.spec import Template

FIX = "use a tokenizer plugin that implements this BPE configuration (docs/plugins.md)"

# The special tokens each op splits out of the text, and how many ids it puts before and after the text.
OP_SPECIALS = {"GPT2Tokenizer": ("<|endoftext|>",), "RobertaTokenizer": ("<unk>", "<s>", "</s>", "<pad>")}
OP_WRAPS = {"GPT2Tokenizer": 0, "RobertaTokenizer": 1}


@dataclass(frozen=True)
class ByteLevelBpeSpec:
    """What the op and the standard ops around it need, as tokenizer.json declares it."""

    vocab: dict[str, int]
    merges: tuple[str, ...]  # "left right", in rank order
    prefix_ids: tuple[int, ...]  # special ids Hugging Face puts before the text
    suffix_ids: tuple[int, ...]  # ... and after it
    template: Template  # with the pair form


def _merge_line(merge: object) -> str:
    """tokenizer.json writes a merge as "a b" (older) or ["a", "b"] (tokenizers >= 0.20)."""
    left, right = merge.split(" ", 1) if isinstance(merge, str) else merge  # type: ignore[misc]
    if " " in left or " " in right or "\n" in left + right:
        raise UnsupportedModelError(f"merge {merge!r} holds a space or newline, which merges.txt cannot express", FIX)
    return f"{left} {right}"


def _check_byte_level(data: dict, path: Path) -> None:
    """Refuse anything the ops do not run: they hard-wire GPT2's byte-level pre-tokenizer and nothing else."""
    model = data.get("model") or {}
    if model.get("type") != "BPE":
        raise UnsupportedModelError(f"{path} holds a {model.get('type')} tokenizer, not BPE", FIX)
    if model.get("dropout") or model.get("continuing_subword_prefix") or model.get("end_of_word_suffix") or model.get("byte_fallback"):
        raise UnsupportedModelError(f"{path}: BPE with dropout, word affixes or byte fallback is not byte-level BPE as the op runs it", FIX)
    if data.get("normalizer") is not None:
        raise UnsupportedModelError(f"{path} declares a normalizer ({data['normalizer'].get('type')}), which the op cannot run", FIX)
    pre = data.get("pre_tokenizer") or {}
    if pre.get("type") != "ByteLevel" or not pre.get("use_regex", True):
        raise UnsupportedModelError(f"{path}: pre-tokenizer {pre.get('type')} is not GPT2's byte-level split, which the op hard-wires", FIX)
    if pre.get("add_prefix_space"):
        raise UnsupportedModelError(
            f"{path} declares add_prefix_space=true, and no op Oracle accepts can put a space before the text",
            "use a tokenizer plugin that implements add_prefix_space (docs/plugins.md)",
        )


def read_byte_level_bpe(tokenizer_json: Path, op: str) -> ByteLevelBpeSpec:
    """The byte-level BPE tokenizer in ``tokenizer_json``, checked against what ``op`` can run."""
    data = json.loads(Path(tokenizer_json).read_text(encoding="utf-8"))
    _check_byte_level(data, tokenizer_json)
    vocab = data["model"]["vocab"]
    missing = [token for token in OP_SPECIALS[op] if token not in vocab]
    if missing:
        other = next(name for name, tokens in OP_SPECIALS.items() if name != op)
        raise UnsupportedModelError(
            f"the vocabulary lacks {', '.join(missing)}, which the {op} op splits out of the text with an id of its own",
            f"use the {other} op's stage ({'gpt2-op' if other == 'GPT2Tokenizer' else 'roberta-op'}) if its tokens are there",
        )
    before, after = special_ids(data.get("post_processor"), vocab, FIX)
    merges = tuple(_merge_line(m) for m in data["model"].get("merges", []))
    return ByteLevelBpeSpec(vocab, merges, tuple(before), tuple(after), pair_template(data.get("post_processor"), vocab, FIX))


def build_bpe_op_graph(
    tokenizer_json: Path,
    max_length: int,
    *,
    op: str,
    with_token_type_ids: bool,
    pad_token: str | None = None,
    opset: int = contract.DEFAULT_OPSET,
    pair: bool = False,
) -> onnx.ModelProto:
    """The tokenizer stage: ``input`` string [1] -> the op -> [1, L] ids -> the model's specials and truncation.
    ``pair``: ``first_input`` and ``second_input`` instead, encoded as Hugging Face encodes a pair.

    ``pad_token`` (the tokenizer's, as sentence-transformers pads with it) stands in for an empty text
    of a model without specials (``op_stage``); id 0 when the model declares none.
    """
    spec = read_byte_level_bpe(tokenizer_json, op)

    def op_ids(g: GraphBuilder, text: str) -> str:
        ids = g.op(
            op, text, hint="bpe_tokenizer", domain=contract.EXTENSIONS_DOMAIN,
            vocab=json.dumps(spec.vocab, ensure_ascii=False),
            # A header line, so that a first merge starting with "#" is not skipped as one.
            merges="#version: 0.2\n" + "\n".join(spec.merges),
            padding_length=-1,
        )
        return g.op("Squeeze", ids, g.scalar(0, shape=(1,)))

    wraps = OP_WRAPS[op]
    if pair:
        return build_op_pair_stage(
            f"{op.lower()}_pair_stage", op_ids, spec.template,
            max_length=max_length, with_token_type_ids=with_token_type_ids, opset=opset, drop_front=wraps, drop_back=wraps,
        )
    nodes, ids, tables = op_stage_ids(op_ids)
    return build_op_stage(
        f"{op.lower()}_stage", nodes, ids,
        max_length=max_length, prefix_ids=spec.prefix_ids, suffix_ids=spec.suffix_ids,
        with_token_type_ids=with_token_type_ids, opset=opset, drop_front=wraps, drop_back=wraps,
        pad_id=spec.vocab.get(pad_token or "", 0), initializers=tables,
    )


class ByteLevelBpeOpTokenizer:
    """Byte-level BPE on one of the extensions' BPE ops; ``op`` names it. Not exact on every input:
    the classes it misses are declared with measured rates (``op_limits``)."""

    op = "GPT2Tokenizer"
    limitations: Sequence[Limitation] = op_limits.BYTE_LEVEL_BPE

    def build_graph(self, source: ModelSource, options: TokenizerOptions) -> onnx.ModelProto:
        op_limits.refuse_what_ops_cannot(options, self.op)
        return build_bpe_op_graph(
            source.ensure_tokenizer_json(), options.max_length, op=self.op,
            with_token_type_ids=options.with_token_type_ids, pad_token=token_content(source.tokenizer_config.get("pad_token")),
            opset=options.opset, pair=options.pair,
        )


class GPT2OpTokenizer(ByteLevelBpeOpTokenizer):
    """GPT2-style models (no specials, or an eos the post-processor appends) on the GPT2Tokenizer op."""

    op = "GPT2Tokenizer"


class RobertaOpTokenizer(ByteLevelBpeOpTokenizer):
    """RoBERTa-style models (``<s> ... </s>``) on the RobertaTokenizer op."""

    op = "RobertaTokenizer"
