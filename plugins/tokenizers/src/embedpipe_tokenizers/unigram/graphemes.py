"""Extended grapheme clusters (UAX #29) in the graph, as far as the Precompiled normalizer needs them.

Hugging Face's Precompiled normalizer looks a grapheme shorter than 6 UTF-8 bytes up as a whole
and otherwise goes character by character (charsmap.py), so the graph must know where graphemes
start. Each code point gets its break class at export time (from the ``regex`` module's Unicode
data, the joining kinds of the BMP confirmed by the library itself, see ``checked_by_library``); the graph applies the pair rules GB3-GB9b and the Hangul rules by a table over (previous,
current) classes, and the two rules that look further back, GB9c (Indic conjuncts) and GB11
(emoji ZWJ sequences), with a look-back to the last character of another kind. GB12/GB13
(regional indicator pairs) are left out on purpose: an indicator is 4 bytes, so any grapheme
holding it together with another character is 6 bytes or more and is normalized character by
character whether it joins or not.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache

import numpy as np
import regex
from onnx import TensorProto

from embedpipe_tokenizers.toolkit.graph import GraphBuilder
from embedpipe_tokenizers.toolkit.library import CODE_POINTS

OTHER, CR, LF, CONTROL, EXTEND, ZWJ, SPACING_MARK, PREPEND, L, V, T, LV, LVT, REGIONAL = range(14)
_BREAK_NAMES = {
    CR: "CR", LF: "LF", CONTROL: "Control", EXTEND: "Extend", ZWJ: "ZWJ", SPACING_MARK: "SpacingMark",
    PREPEND: "Prepend", L: "L", V: "V", T: "T", LV: "LV", LVT: "LVT", REGIONAL: "Regional_Indicator",
}  # fmt: skip
PICTOGRAPHIC = 16
INCB_LINKER, INCB_CONSONANT, INCB_EXTEND = 32, 64, 96
CLASSES = 128
_CHUNK = 1 << 16  # code points asked of the library at once


def _has(property_: str, text: str) -> np.ndarray:
    mask = np.zeros(len(text), bool)
    for match in regex.finditer(rf"\p{{{property_}}}+", text):
        mask[match.start() : match.end()] = True
    return mask


@cache  # Unicode's tables do not change within a process
def grapheme_classes() -> np.ndarray:
    """[0x110000] break class | PICTOGRAPHIC | InCB of every code point (surrogates: OTHER)."""
    text = "".join(chr(cp) if not 0xD800 <= cp <= 0xDFFF else "a" for cp in range(CODE_POINTS))
    classes = np.zeros(CODE_POINTS, np.int64)
    for code, name in _BREAK_NAMES.items():
        classes[_has(f"Grapheme_Cluster_Break={name}", text)] = code
    classes[_has("Extended_Pictographic", text)] |= PICTOGRAPHIC
    for code, name in ((INCB_LINKER, "Linker"), (INCB_CONSONANT, "Consonant"), (INCB_EXTEND, "Extend")):
        classes[_has(f"Indic_Conjunct_Break={name}", text)] |= code
    classes.flags.writeable = False
    return classes


def _joins(before: int, after: int) -> bool:
    """GB3-GB9b and GB6-GB8 for two break classes: no break between them."""
    if before == CR and after == LF:
        return True
    if before in (CR, LF, CONTROL) or after in (CR, LF, CONTROL):
        return False
    hangul = {L: (L, V, LV, LVT), LV: (V, T), V: (V, T), LVT: (T,), T: (T,)}
    if after in hangul.get(before, ()):
        return True
    return after in (EXTEND, ZWJ, SPACING_MARK) or before == PREPEND


def pair_table() -> np.ndarray:
    """[CLASSES * CLASSES] whether the pair rules join (previous, current) full classes."""
    table = np.zeros((CLASSES, CLASSES), bool)
    for before in range(CLASSES):
        for after in range(CLASSES):
            table[before, after] = _joins(before % PICTOGRAPHIC, after % PICTOGRAPHIC)
    return table.reshape(-1)


def _last_other(g: GraphBuilder, other: str) -> str:
    """Per position i: the last position j < i with ``other[j]`` (-1 if none)."""
    flags = g.concat([g.scalar(True, bool, (1,)), other])  # position -1 counts as "other"
    where = g.op("Sub", g.flatten(g.op("NonZero", flags)), g.scalar(1))
    count = g.op("CumSum", g.cast(flags, TensorProto.INT64), g.scalar(0))  # up to i-1 (shifted)
    return g.take(where, g.op("Sub", g.slice(count, 0, -1), g.scalar(1)))


def grapheme_starts(g: GraphBuilder, classes: str, forced: str) -> str:
    """Whether a grapheme starts at each position of one text; ``forced`` [N]: positions where a
    new piece of text begins (the start, and after each added token)."""
    previous = g.concat([g.scalar(0, shape=(1,)), g.slice(classes, 0, -1)])
    joins = g.take(
        g.const(pair_table(), "grapheme_pairs", dtype=bool), g.op("Add", g.op("Mul", previous, g.scalar(CLASSES)), classes)
    )
    kind = g.op("Mod", classes, g.scalar(PICTOGRAPHIC))
    incb = g.op("Div", classes, g.scalar(INCB_LINKER))
    pictographic = g.op("Equal", g.op("Mod", g.op("Div", classes, g.scalar(PICTOGRAPHIC)), g.scalar(2)), g.scalar(1))
    padded = g.concat([g.scalar(0, shape=(1,)), classes])  # index j + 1 reads position j (j = -1: OTHER)

    # GB11: ExtPict Extend* ZWJ x ExtPict.
    before_zwj = _last_other(g, g.op("Not", g.op("Equal", kind, g.scalar(EXTEND))))  # last non-Extend before i
    zwj_before = g.op("Equal", g.op("Mod", previous, g.scalar(PICTOGRAPHIC)), g.scalar(ZWJ))
    earlier = g.take(
        padded,
        g.op("Add", g.take(g.concat([g.scalar(-1, shape=(1,)), before_zwj]), g.arange(g.op("Shape", classes))), g.scalar(1)),
    )
    earlier_pict = g.op("Equal", g.op("Mod", g.op("Div", earlier, g.scalar(PICTOGRAPHIC)), g.scalar(2)), g.scalar(1))
    gb11 = g.op("And", g.op("And", pictographic, zwj_before), earlier_pict)

    # GB9c: Consonant [Extend Linker]* Linker [Extend Linker]* x Consonant.
    chain = g.op("Or", g.op("Equal", incb, g.scalar(INCB_LINKER // 32)), g.op("Equal", incb, g.scalar(INCB_EXTEND // 32)))
    anchor = _last_other(g, g.op("Not", chain))
    anchor_class = g.op("Div", g.take(padded, g.op("Add", anchor, g.scalar(1))), g.scalar(INCB_LINKER))
    linkers = g.op("CumSum", g.cast(g.op("Equal", incb, g.scalar(INCB_LINKER // 32)), TensorProto.INT64), g.scalar(0))
    linkers = g.concat([g.scalar(0, shape=(1,)), linkers])  # linkers[j + 1]: count up to j
    position = g.arange(g.op("Shape", classes))
    between = g.op("Sub", g.take(linkers, position), g.take(linkers, g.op("Add", anchor, g.scalar(1))))
    gb9c = g.op(
        "And",
        g.op(
            "And",
            g.op("Equal", incb, g.scalar(INCB_CONSONANT // 32)),
            g.op("Equal", anchor_class, g.scalar(INCB_CONSONANT // 32)),
        ),
        g.op("Greater", between, g.scalar(0)),
    )
    joined = g.op("Or", joins, g.op("Or", gb11, gb9c))
    return g.op("Or", forced, g.op("Not", joined))


def checked_by_library(classes: np.ndarray, rules: dict[str, str], normalize: Callable[[str], str]) -> np.ndarray:
    """``classes`` with the "joins the character before it" kinds (Extend, ZWJ, SpacingMark)
    confirmed by the library's own normalizer, whose Unicode version may differ from ``regex``'s.
    BMP characters follow a 2-byte rule character: joined, they are swallowed by its rule (one
    short grapheme). Supplementary ones follow a 2-character, 3-byte rule ("A" U+0301): joined,
    the grapheme is 7 bytes and the rule does not apply. Characters whose own output is empty, or
    that start the base's output, cannot be told apart and keep their ``regex`` class."""
    fixed = classes.copy()

    def own(ch: str) -> str:
        return rules.get(ch, ch)

    def per_char(key: str) -> str:
        return "".join(map(own, key))

    probes = [
        (range(1, 0x10000), [k for k, v in rules.items() if len(k.encode()) == 2 and classes[ord(k)] == OTHER and v], None),
        (
            range(0x10000, 0x110000),
            [k for k, v in rules.items() if len(k) == 2 and len(k.encode()) == 3 and v != per_char(k)],
            per_char,
        ),
    ]
    for span, bases, joined_as in probes:
        if not bases:
            continue
        base = bases[0]
        joined_output = rules[base] if joined_as is None else joined_as(base)
        for first in range(span.start, span.stop, _CHUNK):  # in chunks: a million strings at once cost 250 MB
            chars = [chr(cp) for cp in range(first, min(first + _CHUNK, span.stop)) if not 0xD800 <= cp <= 0xDFFF]
            chars = [ch for ch in chars if own(ch) and "\0" not in own(ch)]
            outputs = normalize("\0".join(base + ch for ch in chars)).split("\0")
            if joined_as is None:  # joined: the rule's output alone
                joined = np.array([out == joined_output for out in outputs], bool)
            else:  # joined: character by character
                joined = np.array([out == joined_output + own(ch) for out, ch in zip(outputs, chars)], bool)
            ambiguous = np.array(
                [rules[base] == joined_output + own(ch) or rules[base] + own(ch) == joined_output for ch in chars], bool
            )
            codes = np.array([ord(ch) for ch in chars], np.int64)
            kind = fixed[codes] % PICTOGRAPHIC
            joins = np.isin(kind, (EXTEND, ZWJ, SPACING_MARK))
            for target, select in ((EXTEND, joined & ~joins & ~ambiguous), (OTHER, ~joined & joins & ~ambiguous)):
                chosen = codes[select]
                fixed[chosen] = fixed[chosen] - fixed[chosen] % PICTOGRAPHIC + target
    return fixed
