"""The character tables of the graph: raw character -> row -> normalized characters -> items.

A code point's *row* lists the normalized characters its normalization produces (see toolkit/library.py
for how that is asked of the tokenizers library), each as an *entry*: the normalized character's
pre-tokenizer class (word character, isolated character, whitespace), its symbol (its index in the
WordPiece alphabet, 0 when it occurs in no vocabulary piece) and its code in the alphabet of the
normalized added tokens (0: in none). Keeping one entry per normalized character (and not one
string of items per row) is what lets normalized added tokens (``<unk>`` of MPNet) be matched in
the normalized text, as Hugging Face matches them.

In the graph an item is one int64: ``symbol + 1`` for a word character, ``SPACE_ITEM`` for a word
boundary, 0 for nothing. An isolated character (punctuation) becomes a one-character word between
two boundaries, so after the tables there are only word characters and boundaries. An added token
is an entry of its own: a one-symbol word.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from embedpipe_tokenizers.toolkit.library import CODE_POINTS, ISOLATED, SPACE, Normalized

SPACE_ITEM = -1  # a word boundary in the item stream; word characters are symbol + 1, nothing is 0
UNKNOWN_ITEM = 1  # a word character in no piece (symbol 0)
ITEMS = 3  # items per entry: an isolated character is boundary, character, boundary


@dataclass(frozen=True)
class CharTables:
    """What the graph needs per raw character and per normalized character.

    ``keys``/``key_rows``: the LabelEncoder from a character to its row (every other character
    gets ``default_row``). ``row_entries`` [R, K]: the entries of each row, padded with 0 (entry 0
    is nothing); row 0 is empty. ``row_special`` [R]: the raw character's code in the alphabet of
    the raw-matched added tokens (0: in none). ``entry_items`` [E, 3]: the items of each entry;
    ``entry_codes`` [E]: its code in the normalized added tokens' alphabet. Added token t is entry
    ``first_token_entry + t``; raw-matched token t is also row ``first_token_row + t``.
    """

    keys: list[str]
    key_rows: list[int]
    default_row: int
    row_entries: np.ndarray
    row_special: np.ndarray
    entry_items: np.ndarray
    entry_codes: np.ndarray
    first_token_entry: int
    first_token_row: int


def _entry_items(cls: int, symbol: int) -> list[int]:
    if cls == ISOLATED:
        return [SPACE_ITEM, symbol + 1, SPACE_ITEM]
    return [SPACE_ITEM if cls == SPACE else symbol + 1, 0, 0]


def _unique_rows(matrix: np.ndarray) -> tuple[int, np.ndarray, np.ndarray]:
    """Distinct rows of a non-negative integer matrix (the all-zero row first when present), and
    each row's index among them. Rows are compared as bytes: three times faster than axis=0."""
    packed = np.ascontiguousarray(matrix).view(np.dtype((np.void, matrix.shape[1] * matrix.itemsize))).ravel()
    _, first, inverse = np.unique(packed, return_index=True, return_inverse=True)
    return len(first), matrix[first], inverse.reshape(-1)


def build_char_tables(
    norm: Normalized,
    alphabet: dict[str, int],
    raw_chars: dict[str, int],
    normalized_chars: dict[str, int],
    token_symbols: Sequence[int],
    raw_tokens: int,
) -> CharTables:
    """Rows for every code point; the most common row is the LabelEncoder's default.

    ``raw_chars``/``normalized_chars``: each character of the raw-matched / normalized added
    tokens, numbered from 1. ``token_symbols``: the WordPiece symbol of each added token, the
    ``raw_tokens`` raw-matched ones first.
    """
    symbol = np.zeros(CODE_POINTS, np.int64)
    symbol[[ord(ch) for ch in alphabet]] = list(alphabet.values())
    raw_code = np.zeros(CODE_POINTS, np.int64)
    raw_code[[ord(ch) for ch in raw_chars]] = list(raw_chars.values())
    normalized_code = np.zeros(CODE_POINTS, np.int64)
    normalized_code[[ord(ch) for ch in normalized_chars]] = list(normalized_chars.values())

    # Entries: one per distinct (class, symbol, code) of a normalized character, numbered from 1.
    present = norm.chars >= 0
    out = norm.chars[present]
    symbols, codes = int(symbol.max()) + 1, len(normalized_chars) + 1
    entry_keys, entry_of = np.unique((norm.classes[out] * symbols + symbol[out]) * codes + normalized_code[out], return_inverse=True)
    entries = np.zeros(norm.chars.shape, np.int32)  # int32 halves the peak memory of the export
    entries[present] = entry_of.reshape(-1) + 1
    cls, rest = np.divmod(entry_keys, symbols * codes)
    entry_items = [[0] * ITEMS] + [_entry_items(c, s) for c, s in zip(cls.tolist(), (rest // codes).tolist())]
    entry_items += [[SPACE_ITEM, s + 1, SPACE_ITEM] for s in token_symbols]
    entry_codes = np.concatenate([[0], rest % codes, np.zeros(len(token_symbols), np.int64)])
    first_token_entry = len(entry_keys) + 1

    # Rows: the entries and the raw added-token code of a character; row 0 (all zero) is empty.
    width = entries.shape[1]
    keyed = np.concatenate([np.zeros((1, width + 1), np.int32), np.column_stack([entries, raw_code[norm.cps].astype(np.int32)])])
    count, row_keys, rows = _unique_rows(keyed)
    rows = rows[1:]
    token_rows = np.zeros((raw_tokens, width + 1), np.int64)
    token_rows[:, 0] = first_token_entry + np.arange(raw_tokens)
    row_keys = np.concatenate([row_keys.astype(np.int64), token_rows])
    default = int(np.bincount(rows).argmax())
    listed = rows != default
    return CharTables(
        list(map(chr, norm.cps[listed].tolist())),
        rows[listed].tolist(),
        default,
        row_keys[:, :width],
        row_keys[:, width],
        np.array(entry_items, np.int64),
        entry_codes.astype(np.int64),
        first_token_entry,
        count,
    )
