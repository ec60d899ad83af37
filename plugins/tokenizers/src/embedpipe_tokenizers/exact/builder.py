"""The public entry point: a BERT-family tokenizer.json as one ONNX tokenizer stage.

The graph uses standard ONNX ops, ``ai.onnx.ml.LabelEncoder`` and ``com.microsoft.Tokenizer``
only (no onnxruntime-extensions op, no locale-dependent StringNormalizer), which Oracle Database's
embedded ONNX Runtime accepts, and gives the ids Hugging Face gives, truncation included.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import onnx
from embedpipe import contract
from embedpipe.errors import ConfigError

from embedpipe_tokenizers.exact.graph import GraphBuilder
from embedpipe_tokenizers.exact.library import check_context_free, normalize_all
from embedpipe_tokenizers.exact.outputs import stage_model, template_outputs
from embedpipe_tokenizers.exact.pieces import build_piece_tables, matchable_entries
from embedpipe_tokenizers.exact.spec import read_spec
from embedpipe_tokenizers.exact.specials import SpecialTable, check_added_tokens, match_specials, special_table
from embedpipe_tokenizers.exact.tables import SPACE_ITEM, CharTables, build_char_tables
from embedpipe_tokenizers.exact.wordpiece import wordpiece_ids
from embedpipe_tokenizers.exact.words import first_words

MIN_OPSET = 13  # Unsqueeze/Squeeze/Slice with tensor axes


def _normalized_items(g: GraphBuilder, text: str, chars: CharTables, specials: SpecialTable | None, prefix: str) -> str:
    """``prefix`` + raw string -> the normalized item stream [M], special tokens already in place."""
    row = g.character_rows(text, prefix, chars.keys, chars.key_rows, chars.default_row, "char_rows")
    if specials is not None:
        code = g.take(g.const(chars.row_special, "row_special"), row)
        special_row, inside = match_specials(g, code, g.arange(g.op("Shape", row)), specials)
        row = g.where(inside, special_row, row)
    items = g.flatten(g.op("Gather", g.const(chars.row_items, "row_items"), row))  # [N * K]
    return g.compress(items, g.op("Not", g.op("Equal", items, g.scalar(0))))


def build_exact_wordpiece_graph(
    tokenizer_json: Path,
    max_length: int,
    *,
    with_token_type_ids: bool,
    do_lower_case: bool | None = None,
    prefix: str = "",
    opset: int = contract.DEFAULT_OPSET,
    op_profile: str = contract.DEFAULT_OP_PROFILE,
) -> onnx.ModelProto:
    """The tokenizer stage for a BERT-family model: ``input`` string [1] -> int64 [1, S] outputs.

    Ids equal ``tokenizers.Tokenizer.from_file(tokenizer_json)`` on ``prefix`` + input with
    truncation to ``max_length`` (special tokens kept). ``do_lower_case`` overrides the normalizer's lowercase when not None.
    Raises UnsupportedModelError for tokenizers outside the BERT WordPiece family.
    """
    if not MIN_OPSET <= opset <= contract.MAX_OPSET:
        raise ConfigError(f"opset {opset} is not supported", f"use an opset from {MIN_OPSET} to {contract.MAX_OPSET}")
    spec = read_spec(Path(tokenizer_json), do_lower_case)
    check_added_tokens(spec.added_tokens)
    max_body = max_length - spec.template.added
    if max_body < 0:
        raise ConfigError(
            f"max_length {max_length} leaves no room for the {spec.template.added} special tokens", "use a larger max_length"
        )
    norm = normalize_all(spec.tokenizer)
    entries = matchable_entries(spec.model, *norm.producible())
    pieces = build_piece_tables(entries, [t.id for t in spec.added_tokens])
    check_context_free(spec.tokenizer, norm, pieces.alphabet)
    special_chars = {ch: i + 1 for i, ch in enumerate(sorted({ch for t in spec.added_tokens for ch in t.content}))}
    chars = build_char_tables(norm, pieces.alphabet, special_chars)
    specials = None
    if spec.added_tokens:
        specials = special_table(spec.added_tokens, special_chars, first_row=len(chars.row_items))
        extra = np.zeros((len(pieces.special_symbols), chars.row_items.shape[1]), np.int64)
        extra[:, :3] = [[SPACE_ITEM, symbol + 1, SPACE_ITEM] for symbol in pieces.special_symbols]
        chars = replace(chars, row_items=np.concatenate([chars.row_items, extra]))

    g = GraphBuilder(opset, op_profile=op_profile)
    max_chars = spec.model.max_input_chars_per_word
    items, start = first_words(g, _normalized_items(g, contract.TEXT, chars, specials, prefix), max_body, max_chars)
    body = g.slice(wordpiece_ids(g, items, start, pieces, spec.model.unk_id, max_chars), 1, max_body + 1)
    outputs = template_outputs(g, body, spec.template, with_token_type_ids)

    return stage_model(g, "exact_wordpiece_tokenizer", outputs)
