"""The public entry point: a SentencePiece-Unigram tokenizer.json as one ONNX tokenizer stage.

Standard ONNX ops, ``ai.onnx.ml.LabelEncoder`` and the op profile's text split (GPT2Tokenizer over UTF-8 bytes by default, com.microsoft.Tokenizer in the portable profile) only;
ids as Hugging Face gives them, truncation (special tokens kept) included.
"""

from __future__ import annotations

from functools import partial
from pathlib import Path

import numpy as np
import onnx
from embedpipe import contract
from tokenizers import normalizers

from embedpipe_tokenizers.toolkit.graph import INT64_MAX, GraphBuilder, check_opset
from embedpipe_tokenizers.toolkit.pairs import family_stage, stage_budget
from embedpipe_tokenizers.toolkit.pieces import Entry, PieceTables, build_piece_tables
from embedpipe_tokenizers.toolkit.specials import SpecialTable, check_added_tokens, special_table
from embedpipe_tokenizers.unigram.charsmap import usable_rules
from embedpipe_tokenizers.unigram.graphemes import checked_by_library, grapheme_classes
from embedpipe_tokenizers.unigram.normalize import normalized_items
from embedpipe_tokenizers.unigram.spec import FIX, UnigramSpec, read_unigram_spec
from embedpipe_tokenizers.unigram.tables import FLAGS, META, SPECIAL, CharTables, RuleTrie, build_tables, whitespace_mask
from embedpipe_tokenizers.unigram.viterbi import unigram_ids
from embedpipe_tokenizers.unigram.words import model_words

UNK_PENALTY = 10.0  # Hugging Face's K_UNK_PENALTY


def _entries(spec: UnigramSpec) -> list[Entry]:
    """Pieces a word can hold: with split, the replacement character only comes first."""
    return [
        Entry(piece, False, token_id)
        for piece, token_id in spec.pieces.items()
        if piece and not (spec.split and spec.replacement in piece[1:])
    ]


def _body_ids(
    spec: UnigramSpec, chars: CharTables, trie: RuleTrie, pieces: PieceTables, specials: SpecialTable | None, prefix: str,
    g: GraphBuilder, text: str, max_words: int | None,
) -> str:  # fmt: skip
    """The ids of ``prefix`` + ``text`` without specials: the first ``max_words`` tokens (all for None)."""
    meta_item = (pieces.alphabet.get(spec.replacement, 0) + 1) * FLAGS + META
    special_items = np.array([(s + 1) * FLAGS + SPECIAL for s in pieces.special_symbols], np.int64)
    items = normalized_items(
        g, text, chars, trie, specials, special_items,
        np.array([t.lstrip for t in spec.added_tokens], bool), np.array([t.rstrip for t in spec.added_tokens], bool),
        prefix,
    )  # fmt: skip
    stream = model_words(
        g, items, collapse_spaces=spec.collapse_spaces, whitespace_split=spec.whitespace_split, prepend=spec.prepend,
        split=spec.split, meta_item=meta_item, max_words=max_words,
    )  # fmt: skip
    unk_score = min(spec.scores) - UNK_PENALTY
    ids = unigram_ids(g, stream, pieces, np.array(spec.scores), spec.unk_id, unk_score)
    return g.slice(ids, 0, INT64_MAX if max_words is None else max_words)


def build_exact_unigram_graph(
    tokenizer_json: Path, max_length: int, *, with_token_type_ids: bool = False, prefix: str = "", opset: int = contract.DEFAULT_OPSET,
    op_profile: str = contract.DEFAULT_OP_PROFILE, pair: bool = False,
) -> onnx.ModelProto:  # fmt: skip
    """The tokenizer stage for a SentencePiece-Unigram model: ``input`` string [1] -> int64
    ``input_ids``/``attention_mask`` [1, S], equal to ``tokenizers.Tokenizer.from_file`` on
    ``prefix`` + input with truncation to ``max_length``. ``pair``: the two inputs of
    toolkit/pairs.py instead, encoded as the library encodes a pair. Raises UnsupportedModelError
    for what it cannot reproduce."""
    check_opset(opset)
    spec = read_unigram_spec(Path(tokenizer_json))
    check_added_tokens(spec.added_tokens, graph="the exact Unigram graph", fix=FIX)
    budget = stage_budget(spec.template, max_length, prefix, pair=pair)
    pieces = build_piece_tables(_entries(spec), [t.id for t in spec.added_tokens])
    whitespace = whitespace_mask()
    special_chars = {ch: i + 1 for i, ch in enumerate(sorted({ch for t in spec.added_tokens for ch in t.content}))}
    rules = usable_rules(spec.charsmap)
    classes = checked_by_library(grapheme_classes(), rules, normalizers.Precompiled(spec.charsmap).normalize_str)
    chars, trie = build_tables(rules, classes, pieces.alphabet, whitespace, spec.replacement, special_chars)
    specials = special_table(spec.added_tokens, special_chars, first_row=1) if spec.added_tokens else None
    g = GraphBuilder(opset, op_profile=op_profile)
    body_ids = partial(_body_ids, spec, chars, trie, pieces, specials, prefix)
    return family_stage(
        g, body_ids, spec.template, budget, pair=pair, with_token_type_ids=with_token_type_ids, family="unigram"
    )
