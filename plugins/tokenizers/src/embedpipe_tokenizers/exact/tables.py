"""Per-code-point tables, derived from the model's own normalizer and pre-tokenizer.

Every code point 0..0x10FFFF (surrogates excluded: they cannot occur in UTF-8 text) is run
through the ``tokenizers`` library itself, so the graph inherits that library's Unicode version
and quirks; Python's ``unicodedata`` is never the source of truth (it lags or leads the library on
newer code points). A code point becomes a *row*: the items its normalization produces, each a kind
(word character, isolated character, whitespace) and a symbol (its index in the WordPiece alphabet,
0 when the character occurs in no vocabulary piece).

In the graph an item is one int64: ``symbol + 1`` for a word character, ``SPACE_ITEM`` for a word
boundary, 0 for nothing. An isolated character (punctuation) becomes a one-character word between
two boundaries, so after the tables there are only word characters and boundaries.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
from tokenizers import Tokenizer

from embedpipe.errors import UnsupportedModelError

# Pre-tokenizer classes of a character.
WORD, ISOLATED, SPACE = 1, 2, 3
SPACE_ITEM = -1  # a word boundary in the item stream; word characters are symbol + 1, nothing is 0
CODE_POINTS = 0x110000

# Batch separator for normalizing many code points in one call: a starter (combining class 0, by
# Unicode's stability policy), so no canonical reordering can cross it. Each batch is checked.
_SEPARATORS = ("\u3007", "\u2e3b", "\U0001f300")
_CHUNK = 8192


def _code_array(text: str) -> np.ndarray:
    return np.frombuffer(text.encode("utf-32-le"), dtype=np.uint32).astype(np.int64)


def _interleave(text: str, sep: str) -> str:
    """sep + text[0] + sep + text[1] + ... + sep, without a Python loop."""
    codes = np.full(2 * len(text) + 1, ord(sep), np.uint32)
    codes[1::2] = _code_array(text)
    return codes.tobytes().decode("utf-32-le")


def normalize_each(tokenizer: Tokenizer, text: str) -> list[str]:
    """The normalizer's output for each character of ``text`` alone (many per call; exact)."""
    normalizer = tokenizer.normalizer
    if normalizer is None:
        return list(text)
    one = normalizer.normalize_str
    sep = next((s for s in _SEPARATORS if one(s) == s and unicodedata.combining(s) == 0), None)
    out: list[str] = []
    for start in range(0, len(text), _CHUNK):
        chunk = text[start : start + _CHUNK]
        parts = one(_interleave(chunk, sep)).split(sep) if sep else []
        # The separator survives as itself, so the count is exact unless some output contains it:
        # then that chunk is done one character at a time.
        if len(parts) != len(chunk) + 2:
            parts = [""] + [one(ch) for ch in chunk] + [""]
        out.extend(parts[1:-1])
    return out


def pretokenizer_classes(tokenizer: Tokenizer, text: str) -> np.ndarray:
    """The pre-tokenizer's class of every code point: ISOLATED (split off alone, punctuation),
    SPACE (removed, whitespace) or WORD.

    Each character is placed between two 'a's: a piece of its own means isolated, no piece at
    all means removed.
    """
    pre = tokenizer.pre_tokenizer
    if [p for p, _ in pre.pre_tokenize_str("aa")] != ["aa"]:
        raise UnsupportedModelError("the pre-tokenizer splits 'aa'", "use a tokenizer plugin for this model's family")
    classes = np.full(CODE_POINTS, WORD, np.int64)
    for start in range(0, len(text), _CHUNK):
        chunk = text[start : start + _CHUNK]
        spans = np.array([span for _, span in pre.pre_tokenize_str(_interleave(chunk, "a"))], np.int64).reshape(-1, 2)
        cover = np.zeros(2 * len(chunk) + 2, np.int64)
        np.add.at(cover, spans[:, 0], 1)
        np.add.at(cover, spans[:, 1], -1)
        covered = np.cumsum(cover)[1:-1:2] > 0  # odd positions hold the chunk's characters
        codes = _code_array(chunk)
        classes[codes[~covered]] = SPACE
        alone = spans[(spans[:, 1] - spans[:, 0] == 1) & (spans[:, 0] % 2 == 1), 0] // 2
        classes[codes[alone]] = ISOLATED
    return classes


@dataclass(frozen=True)
class Normalized:
    """Each code point's normalized characters (``chars`` [n, K], -1 past the end) and the
    pre-tokenizer class of every code point."""

    cps: np.ndarray
    chars: np.ndarray
    classes: np.ndarray

    def producible(self) -> tuple[np.ndarray, np.ndarray]:
        """Masks over code points: can stand in a word of several characters; can stand alone."""
        produced = np.zeros(CODE_POINTS, bool)
        produced[self.chars[self.chars >= 0]] = True
        return produced & (self.classes == WORD), produced & (self.classes == ISOLATED)

    def output(self, cp: int) -> str:
        row = self.chars[np.searchsorted(self.cps, cp)]
        return "".join(chr(c) for c in row if c >= 0)


def normalize_all(tokenizer: Tokenizer) -> Normalized:
    cps = np.array([cp for cp in range(CODE_POINTS) if not 0xD800 <= cp <= 0xDFFF], np.int64)
    text = "".join(map(chr, cps.tolist()))
    outputs = normalize_each(tokenizer, text)
    lengths = np.fromiter(map(len, outputs), np.int64, len(outputs))
    flat = _code_array("".join(outputs))
    chars = np.full((len(cps), max(1, int(lengths.max()))), -1, np.int64)
    column = np.arange(len(flat)) - np.repeat(np.cumsum(lengths) - lengths, lengths)
    chars[np.repeat(np.arange(len(cps)), lengths), column] = flat
    return Normalized(cps, chars, pretokenizer_classes(tokenizer, text))


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
        collapsed += [run[0]] if run[0] == SPACE_ITEM or 1 in run else run
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
    ids = [distinct.setdefault(_items([c], [s]) if c else (), len(distinct)) for c, s in (divmod(v, base) for v in codes.tolist())]
    items_id[short] = np.array(ids, np.int64)[inverse.reshape(-1)]
    long = np.flatnonzero(present.sum(axis=1) > 1)
    if long.size:
        _, first, inverse = np.unique(cls[long] * base + sym[long], axis=0, return_index=True, return_inverse=True)
        ids = [distinct.setdefault(_items([c for c in cls[i] if c], sym[i][cls[i] > 0]), len(distinct))
               for i in long[first].tolist()]
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
    return CharTables(list(map(chr, norm.cps[listed].tolist())), rows[listed].tolist(), default,
                      row_items, row_keys % (len(special_chars) + 1))


def check_context_free(tokenizer: Tokenizer, norm: Normalized, alphabet: Iterable[str]) -> None:
    """Refuse models where normalizing character by character could change a token.

    NFD (used when accents are stripped) reorders adjacent combining marks by combining class;
    character-wise tables cannot follow that. It only matters when two characters that survive
    normalization, both with a non-zero combining class, both occur in the vocabulary: otherwise
    a word holding them becomes [UNK] either way. Candidates are taken generously (any mark or
    combining class per Python, or unassigned in Python's Unicode), then decided by the library.
    """
    if tokenizer.normalizer is None:
        return
    marks = [
        ch for ch in alphabet
        if unicodedata.combining(ch) != 0 or unicodedata.category(ch) in ("Cn", "Mc", "Mn", "Me")
    ]
    one = tokenizer.normalizer.normalize_str
    for a in marks:
        for b in marks:
            if one(a + b) != norm.output(ord(a)) + norm.output(ord(b)):
                raise UnsupportedModelError(
                    f"normalizing U+{ord(a):04X} U+{ord(b):04X} together differs from one by one "
                    "(canonical reordering), and both are in the vocabulary",
                    "use a tokenizer plugin that runs the normalizer on whole strings",
                )
