"""The public entry point: a BERT-family tokenizer.json as one ONNX tokenizer stage.

The graph uses standard ONNX ops, ``ai.onnx.ml.LabelEncoder`` and the op profile's text split (GPT2Tokenizer over UTF-8 bytes by default, com.microsoft.Tokenizer in the portable profile) only
(no locale-dependent StringNormalizer), and gives the ids Hugging Face gives, truncation included.
"""

from __future__ import annotations

from functools import partial
from pathlib import Path

import numpy as np
import onnx
from embedpipe import contract
from onnx import TensorProto

from embedpipe_tokenizers.toolkit.graph import INT64_MAX, GraphBuilder, check_opset
from embedpipe_tokenizers.toolkit.library import check_context_free, normalize_all
from embedpipe_tokenizers.toolkit.pairs import family_stage, stage_budget
from embedpipe_tokenizers.toolkit.pieces import PieceTables, build_piece_tables
from embedpipe_tokenizers.toolkit.spec import AddedToken
from embedpipe_tokenizers.toolkit.specials import (
    SpecialTable,
    check_wordpiece_tokens,
    match_specials,
    special_table,
    split_added_tokens,
)
from embedpipe_tokenizers.wordpiece.spec import TokenizerSpec, matchable_entries, read_spec
from embedpipe_tokenizers.wordpiece.tables import CharTables, build_char_tables
from embedpipe_tokenizers.wordpiece.walk import wordpiece_ids
from embedpipe_tokenizers.wordpiece.words import first_words


def _numbered_chars(tokens: tuple[AddedToken, ...]) -> dict[str, int]:
    """Each character the tokens use, numbered from 1."""
    return {ch: i + 1 for i, ch in enumerate(sorted({ch for t in tokens for ch in t.content}))}


def _narrow(table: np.ndarray) -> type:
    """The narrowest integer type holding ``table``: the row and entry tables are stored narrow
    (a quarter of the graph's bytes at int64) and widened after the lookup."""
    for dtype in (np.int8, np.int16, np.int32):
        if table.size == 0 or np.iinfo(dtype).min <= table.min() <= table.max() <= np.iinfo(dtype).max:
            return dtype
    return np.int64


def _lookup(g: GraphBuilder, table: np.ndarray, indices: str, hint: str) -> str:
    """``table[indices]`` as int64: GatherElements for a 1-D table, Gather of rows for a 2-D one."""
    dtype = _narrow(table)
    data = g.const(table, hint, dtype=dtype)
    found = g.take(data, indices) if table.ndim == 1 else g.op("Gather", data, indices)
    return found if dtype is np.int64 else g.cast(found, TensorProto.INT64)


def _normalized_items(
    g: GraphBuilder, text: str, chars: CharTables, raw: SpecialTable | None, normalized: SpecialTable | None, prefix: str
) -> str:
    """``prefix`` + raw string -> the normalized item stream [M], added tokens already in place:
    raw-matched ones on the raw characters, normalized ones on the normalized characters between them."""
    row = g.character_rows(text, prefix, chars.keys, chars.key_rows, chars.default_row, "char_rows")
    if raw is not None:
        code = _lookup(g, chars.row_special, row, "row_special")
        token_row, inside = match_specials(g, code, g.arange(g.op("Shape", row)), raw)
        row = g.where(inside, token_row, row)
    entries = g.flatten(_lookup(g, chars.row_entries, row, "row_entries"))  # [N * K]
    if normalized is not None:
        entries = g.compress(entries, g.op("Not", g.op("Equal", entries, g.scalar(0))))
        code = _lookup(g, chars.entry_codes, entries, "entry_codes")
        token_entry, inside = match_specials(g, code, g.arange(g.op("Shape", entries)), normalized)
        entries = g.where(inside, token_entry, entries)
    items = g.flatten(_lookup(g, chars.entry_items, entries, "entry_items"))
    return g.compress(items, g.op("Not", g.op("Equal", items, g.scalar(0))))


def _body_ids(
    spec: TokenizerSpec,
    chars: CharTables,
    raw: SpecialTable | None,
    normalized: SpecialTable | None,
    pieces: PieceTables,
    prefix: str,
    g: GraphBuilder,
    text: str,
    max_words: int | None,
) -> str:
    """The ids of ``prefix`` + ``text`` without specials: the first ``max_words`` tokens (all for None)."""
    max_chars = spec.model.max_input_chars_per_word
    items, start = first_words(g, _normalized_items(g, text, chars, raw, normalized, prefix), max_words, max_chars)
    end = INT64_MAX if max_words is None else max_words + 1  # the dummy word's [UNK] comes first
    return g.slice(wordpiece_ids(g, items, start, pieces, spec.model.unk_id, max_chars), 1, end)


def build_exact_wordpiece_graph(
    tokenizer_json: Path,
    max_length: int,
    *,
    with_token_type_ids: bool,
    do_lower_case: bool | None = None,
    prefix: str = "",
    opset: int = contract.DEFAULT_OPSET,
    op_profile: str = contract.DEFAULT_OP_PROFILE,
    pair: bool = False,
) -> onnx.ModelProto:
    """The tokenizer stage for a BERT-family model: ``input`` string [1] -> int64 [1, S] outputs.

    Ids equal ``tokenizers.Tokenizer.from_file(tokenizer_json)`` on ``prefix`` + input with
    truncation to ``max_length`` (special tokens kept). ``do_lower_case`` overrides the normalizer's lowercase when not None.
    ``pair``: the two inputs of toolkit/pairs.py instead, encoded as the library encodes a pair.
    Raises UnsupportedModelError for tokenizers outside the BERT WordPiece family.
    """
    check_opset(opset)
    spec = read_spec(Path(tokenizer_json), do_lower_case)
    normalizer = spec.tokenizer.normalizer
    normalize = normalizer.normalize_str if normalizer else None
    raw, normalized = split_added_tokens(spec.added_tokens, normalize)
    used = {ch for t in normalized for ch in t.content}
    check_wordpiece_tokens(raw, normalized, frozenset(ch for ch in used if normalize and normalize(ch) == f" {ch} "))
    budget = stage_budget(spec.template, max_length, prefix, pair=pair)
    norm = normalize_all(spec.tokenizer)
    entries = matchable_entries(spec.model, *norm.producible())
    pieces = build_piece_tables(entries, [t.id for t in (*raw, *normalized)])
    check_context_free(spec.tokenizer, norm, pieces.alphabet)
    raw_chars, normalized_chars = _numbered_chars(raw), _numbered_chars(normalized)
    chars = build_char_tables(norm, pieces.alphabet, raw_chars, normalized_chars, pieces.special_symbols, len(raw))
    raw_table = special_table(raw, raw_chars, first_row=chars.first_token_row) if raw else None
    normalized_table = (
        special_table(normalized, normalized_chars, first_row=chars.first_token_entry + len(raw)) if normalized else None
    )

    g = GraphBuilder(opset, op_profile=op_profile)
    body_ids = partial(_body_ids, spec, chars, raw_table, normalized_table, pieces, prefix)
    return family_stage(
        g, body_ids, spec.template, budget, pair=pair, with_token_type_ids=with_token_type_ids, family="wordpiece"
    )
