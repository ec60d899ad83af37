"""The character table of the graph: one LabelEncoder from a raw character to a row of items.

A code point's *row* holds the items its normalization produces (see library.py for how that is
asked of the tokenizers library): each a kind (word character, isolated character, whitespace)
and a symbol (its index in the WordPiece alphabet, 0 when it occurs in no vocabulary piece).

In the graph an item is one int64: ``symbol + 1`` for a word character, ``SPACE_ITEM`` for a word
boundary, 0 for nothing. An isolated character (punctuation) becomes a one-character word between
two boundaries, so after the tables there are only word characters and boundaries.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from embedpipe_tokenizers.exact.library import CODE_POINTS, ISOLATED, SPACE, Normalized

SPACE_ITEM = -1  # a word boundary in the item stream; word characters are symbol + 1, nothing is 0
UNKNOWN_ITEM = 1  # a word character in no piece (symbol 0)


@dataclass(frozen=True)
class CharTables:
    """What the graph needs per raw character.

    ``keys``/``key_rows``: the LabelEncoder from a character to its row (every other character
    gets ``default_row``). ``row_items`` [R, K]: the items of each row, padded with 0 (nothing);
    row 0 is empty. ``row_special`` [R]: the character's index in the added tokens' alphabet
    (0: in none).
    """

    keys: list[str]
    key_rows: list[int]
    default_row: int
    row_items: np.ndarray
    row_special: np.ndarray


Items = tuple[int, ...]


def _items(classes: Sequence[int], symbols: Sequence[int]) -> Items:
    """A row's items: isolated characters become one-character words; a run of boundaries is
    one boundary; a run of word characters holding an unknown one is one unknown character (such
    a word becomes a single [UNK] whatever its length)."""
    out: list[int] = []
    for cls, sym in zip(classes, symbols):
        if cls == ISOLATED:
            out += [SPACE_ITEM, sym + 1, SPACE_ITEM]
        else:
            out.append(SPACE_ITEM if cls == SPACE else sym + 1)
    collapsed: list[int] = []
    i = 0
    while i < len(out):
        j = i + 1
        while j < len(out) and (out[j] == SPACE_ITEM) == (out[i] == SPACE_ITEM):
            j += 1
        run = out[i:j]
        collapsed += [SPACE_ITEM] if run[0] == SPACE_ITEM else [UNKNOWN_ITEM] if UNKNOWN_ITEM in run else run
        i = j
    return tuple(collapsed)


def build_char_tables(norm: Normalized, alphabet: dict[str, int], special_chars: dict[str, int]) -> CharTables:
    """Rows for every code point; the most common row is the LabelEncoder's default."""
    symbol = np.zeros(CODE_POINTS, np.int64)
    symbol[[ord(ch) for ch in alphabet]] = list(alphabet.values())
    special = np.zeros(CODE_POINTS, np.int64)
    special[[ord(ch) for ch in special_chars]] = list(special_chars.values())
    present = norm.chars >= 0
    cls = np.where(present, norm.classes[norm.chars], 0)
    sym = np.where(present, symbol[norm.chars], 0)
    # Distinct rows: one-character outputs are told apart by one number; the few longer ones
    # (CJK padded with spaces, decompositions) are built once per distinct output.
    distinct: dict[Items, int] = {(): 0}
    base = int(symbol.max()) + 1
    items_id = np.empty(len(norm.cps), np.int64)
    short = np.flatnonzero(present.sum(axis=1) <= 1)
    codes, inverse = np.unique(cls[short, 0] * base + sym[short, 0], return_inverse=True)
    ids = [
        distinct.setdefault(_items([c], [s]) if c else (), len(distinct)) for c, s in (divmod(v, base) for v in codes.tolist())
    ]
    items_id[short] = np.array(ids, np.int64)[inverse.reshape(-1)]
    long = np.flatnonzero(present.sum(axis=1) > 1)
    if long.size:
        _, first, inverse = np.unique(cls[long] * base + sym[long], axis=0, return_index=True, return_inverse=True)
        ids = [
            distinct.setdefault(_items([c for c in cls[i] if c], sym[i][cls[i] > 0]), len(distinct)) for i in long[first].tolist()
        ]
        items_id[long] = np.array(ids, np.int64)[inverse.reshape(-1)]
    # Row 0 is the empty row (special tokens blank the characters they cover with it).
    key = items_id * (len(special_chars) + 1) + special[norm.cps]
    row_keys, rows = np.unique(np.append(key, 0), return_inverse=True)
    rows = rows[:-1]
    default = int(np.bincount(rows).argmax())
    by_id = {v: k for k, v in distinct.items()}
    row_items = np.zeros((len(row_keys), max(3, max(map(len, distinct)))), np.int64)
    for r, k in enumerate(row_keys.tolist()):
        items = by_id[k // (len(special_chars) + 1)]
        row_items[r, : len(items)] = items
    listed = rows != default
    return CharTables(
        list(map(chr, norm.cps[listed].tolist())), rows[listed].tolist(), default, row_items, row_keys % (len(special_chars) + 1)
    )
