"""From the raw string to elements and word starts, as HF's added-token split and ByteLevel regex do.

An *element* is a code point of the text (``cp``, its regex class) or an added token found in the
raw text (``cp`` -1, class 0, its id in ``token``). Steps, each with tensor ops over all positions:
added tokens (compared at every position at once, see toolkit/specials.py) and the whitespace their
lstrip/rstrip absorb; ByteLevel's add_prefix_space, a space before every piece of text between
added tokens that does not start with one; the regex's match starts, from the classes of
neighbours; and the first ``max_words`` words only, since every word gives at least one token.

Match starts of the GPT-2 regex, left to right: a letter, number or other run starts a match where
the class changes, except after a space (" ?\\p{L}+" takes one space before it); a whitespace run
starts one, and so does its last character when a non-space follows a run of two or more
("\\s+(?!\\S)" leaves it); a contraction ('s 't 're 've 'm 'll 'd) is its own match where an
apostrophe starts one, so the letter after it starts none and the character after it starts one.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from onnx import TensorProto

from embedpipe_tokenizers.bpe.classes import SPACE, CharTable
from embedpipe_tokenizers.toolkit.graph import INT64_MAX, GraphBuilder
from embedpipe_tokenizers.toolkit.specials import SpecialTable, match_specials

_CONTRACTIONS_2 = "stmd"
_CONTRACTIONS_3 = ("re", "ve", "ll")


@dataclass(frozen=True)
class AddedTokens:
    """The added tokens as the graph needs them: the matcher, and per token (row 1 + index) its id
    and whether it absorbs whitespace on its left and on its right."""

    table: SpecialTable
    ids: np.ndarray
    lstrip: np.ndarray
    rstrip: np.ndarray


@dataclass(frozen=True)
class Elements:
    """Per element: code point (-1 for an added token), added token id (-1 for a character), and
    whether a word starts there."""

    cp: str
    token: str
    word_start: str


def _shift_right(g: GraphBuilder, x: str, k: int, pad: object, dtype: object) -> str:
    """x[i - k] (``pad`` before the start), same length as x even when shorter than k."""
    return g.slice(g.concat([g.const(np.full(k, pad), "pad", dtype=dtype), x]), 0, -k)


def _shift_left(g: GraphBuilder, x: str, k: int, pad: object, dtype: object) -> str:
    """x[i + k] (``pad`` past the end)."""
    return g.slice(g.concat([x, g.const(np.full(k, pad), "pad", dtype=dtype)]), k, INT64_MAX)


def _isin(g: GraphBuilder, x: str, values: list[int]) -> str:
    hits = [g.op("Equal", x, g.scalar(v)) for v in values]
    out = hits[0]
    for hit in hits[1:]:
        out = g.op("Or", out, hit)
    return out


def _nearest(g: GraphBuilder, mark: str, after: bool) -> str:
    """Per position i: the nearest position q >= i (``after``) or q <= i with ``mark`` set; n (after)
    or -1 (before) when there is none.

    The sentinel n comes from NonZero over ``mark`` with True appended, not from Shape(mark)
    concatenated to the positions: with that Shape, ONNX Runtime 1.15.1 (Oracle 23ai) gave wrong ids
    from the second run of a session on (its memory pattern; right with enable_mem_pattern off).
    """
    counts = g.cast(mark, TensorProto.INT64)
    if after:
        marked_or_end = g.flatten(g.op("NonZero", g.concat([mark, g.scalar(True, bool, (1,))])))
        before = g.op("Sub", g.op("CumSum", counts, g.scalar(0)), counts)
        return g.take(marked_or_end, before)
    marked = g.flatten(g.op("NonZero", mark))
    upto = g.op("CumSum", counts, g.scalar(0))
    return g.take(g.concat([g.scalar(-1, shape=(1,)), marked]), upto)


def _gather_padded(g: GraphBuilder, table: np.ndarray, rows: str, hint: str) -> str:
    return g.take(g.const(table, hint, dtype=table.dtype), rows)


def _absorbed(g: GraphBuilder, strip: str, inside: str, start_row: str, tokens: AddedTokens) -> str:
    """Whitespace outside tokens that the next token's lstrip or the previous token's rstrip takes
    (HF: every whitespace character between the token and the nearest non-whitespace or token)."""
    free = g.op("And", strip, g.op("Not", inside))
    solid = g.op("Not", free)
    no = g.scalar(False, bool, (1,))
    lstrip_here = _gather_padded(g, np.concatenate([[False], tokens.lstrip]), start_row, "lstrip")
    by_left = g.take(g.concat([lstrip_here, no]), _nearest(g, solid, after=True))
    starts = g.op("Greater", start_row, g.scalar(0))
    token_start = g.take(
        g.concat([g.scalar(0, shape=(1,)), start_row]), g.op("Add", _nearest(g, starts, after=False), g.scalar(1))
    )
    cover_row = g.where(inside, token_start, g.scalar(0))
    rstrip_here = _gather_padded(g, np.concatenate([[False], tokens.rstrip]), cover_row, "rstrip")
    by_right = g.take(g.concat([no, rstrip_here]), g.op("Add", _nearest(g, solid, after=False), g.scalar(1)))
    return g.op("And", free, g.op("Or", by_left, by_right))


def _with_added_tokens(g: GraphBuilder, cp: str, cls: str, info: str, tokens: AddedTokens) -> tuple[str, str, str]:
    """Elements (cp, class, token id or -1) once added tokens replace their characters."""
    code = g.op("Div", info, g.scalar(16))
    row, inside = match_specials(g, code, g.arange(g.op("Shape", cp)), tokens.table)
    start = g.op("Greater", row, g.scalar(0))
    drop = g.op("And", inside, g.op("Not", start))
    if tokens.lstrip.any() or tokens.rstrip.any():
        strip = g.op("Equal", g.op("Mod", g.op("Div", info, g.scalar(8)), g.scalar(2)), g.scalar(1))
        drop = g.op("Or", drop, _absorbed(g, strip, inside, row, tokens))
    keep = g.op("Not", drop)
    token = _gather_padded(g, np.concatenate([[-1], tokens.ids]), row, "token_ids")
    cp = g.where(start, g.scalar(-1), cp)
    cls = g.where(start, g.scalar(0), cls)
    return g.compress(cp, keep), g.compress(cls, keep), g.compress(token, keep)


def _with_prefix_spaces(g: GraphBuilder, cp: str, cls: str, token: str, split_start: str) -> tuple[str, str, str, str]:
    """A space before each piece of text between added tokens that does not start with one."""
    insert = g.op("And", split_start, g.op("Not", g.op("Equal", cp, g.scalar(32))))

    def pair(first: str, second: str) -> str:
        return g.flatten(g.concat([g.unsqueeze(first, 1), g.unsqueeze(second, 1)], axis=1))

    def constant(value: int, like: str) -> str:
        return g.op("Add", g.op("Mul", like, g.scalar(0)), g.scalar(value))

    valid = pair(insert, g.op("Not", g.op("Xor", insert, insert)))  # the element itself always stays
    starts = pair(insert, g.op("And", split_start, g.op("Not", insert)))
    cp = g.compress(pair(constant(32, cp), cp), valid)
    cls = g.compress(pair(constant(SPACE, cls), cls), valid)
    token = g.compress(pair(constant(-1, token), token), valid)
    return cp, cls, token, g.compress(starts, valid)


def _match_starts(g: GraphBuilder, cp: str, cls: str, split_start: str) -> str:
    """Where the GPT-2 regex starts a match inside each piece of text (see the module docstring)."""
    prev_cls = _shift_right(g, cls, 1, 0, np.int64)
    next_cls = _shift_left(g, cls, 1, 0, np.int64)
    after_space = _shift_right(g, g.op("Equal", cp, g.scalar(32)), 1, False, bool)
    is_space = g.op("Equal", cls, g.scalar(SPACE))
    solid = g.op("And", g.op("Greater", cls, g.scalar(0)), g.op("Not", is_space))
    run_start = g.op("And", solid, g.op("And", g.op("Not", g.op("Equal", prev_cls, cls)), g.op("Not", after_space)))
    next_solid = g.op("And", g.op("Greater", next_cls, g.scalar(0)), g.op("Less", next_cls, g.scalar(SPACE)))
    space_start = g.op("And", is_space, g.op("Or", g.op("Not", g.op("Equal", prev_cls, g.scalar(SPACE))), next_solid))
    base = g.op("Or", split_start, g.op("Or", run_start, space_start))
    next1 = _shift_left(g, cp, 1, -1, np.int64)
    next2 = _shift_left(g, cp, 2, -1, np.int64)
    two = _isin(g, next1, [ord(c) for c in _CONTRACTIONS_2])
    three = [
        g.op("And", g.op("Equal", next1, g.scalar(ord(a))), g.op("Equal", next2, g.scalar(ord(b)))) for a, b in _CONTRACTIONS_3
    ]
    three = g.op("Or", g.op("Or", three[0], three[1]), three[2])
    contraction = g.op("And", g.op("And", g.op("Equal", cp, g.scalar(ord("'"))), base), g.op("Or", two, three))
    starts = g.op("And", base, g.op("Not", _shift_right(g, contraction, 1, False, bool)))
    starts = g.op("Or", starts, _shift_right(g, g.op("And", contraction, two), 2, False, bool))
    return g.op("Or", starts, _shift_right(g, g.op("And", contraction, three), 3, False, bool))


def first_words(
    g: GraphBuilder,
    text: str,
    chars: CharTable,
    tokens: AddedTokens | None,
    *,
    add_prefix_space: bool,
    use_regex: bool,
    max_words: int | None,
    prefix: str = "",
) -> Elements:
    """The elements of the first ``max_words`` words (all for None) of ``prefix`` + the raw string ``text`` [1]."""
    packed = g.character_rows(text, prefix, chars.keys, chars.values, -1, "char_table", code_point_scale=chars.scale)
    cp = g.op("Div", packed, g.scalar(chars.scale))
    info = g.op("Mod", packed, g.scalar(chars.scale))
    cls = g.op("Mod", info, g.scalar(8))
    if tokens is None:
        token = g.op("Sub", g.op("Mul", cp, g.scalar(0)), g.scalar(1))
    else:
        cp, cls, token = _with_added_tokens(g, cp, cls, info, tokens)
    added = g.op("Greater", token, g.scalar(-1))
    split_start = g.op("And", g.op("Not", added), _shift_right(g, added, 1, True, bool))
    if add_prefix_space:
        cp, cls, token, split_start = _with_prefix_spaces(g, cp, cls, token, split_start)
    starts = g.op("Or", split_start, g.op("Greater", token, g.scalar(-1)))
    if use_regex:
        starts = g.op("Or", starts, _match_starts(g, cp, cls, split_start))
    if max_words is None:
        return Elements(cp, token, starts)
    word = g.op("CumSum", g.cast(starts, TensorProto.INT64), g.scalar(0))
    keep = g.op("LessOrEqual", word, g.scalar(max_words))
    return Elements(g.compress(cp, keep), g.compress(token, keep), g.compress(starts, keep))
