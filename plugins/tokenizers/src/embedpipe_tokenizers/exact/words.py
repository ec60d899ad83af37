"""From the normalized item stream to words, keeping only what can reach the truncated output.

Every word yields at least one token, so words past the body's token budget are dropped before
the WordPiece lookup; a word longer than ``max_input_chars_per_word`` becomes one [UNK] whatever
it holds, so only its first ``max_input_chars_per_word + 1`` characters are kept (enough to still
tell that it is too long). Both keep a 20,000-character input cheap.
"""

from __future__ import annotations

from dataclasses import dataclass

from onnx import TensorProto

from embedpipe_tokenizers.exact.graph import INT64_MAX, GraphBuilder
from embedpipe_tokenizers.exact.tables import KINDS, SPACE, WORD


@dataclass(frozen=True)
class Words:
    """Tensor names: ``items`` [M] (symbol * KINDS + kind), and per position its ``word`` index;
    per word its ``first`` position and its ``end`` (one past its last); ``count`` = [M]."""

    items: str
    word: str
    first: str
    end: str
    count: str


def split_words(g: GraphBuilder, items: str) -> tuple[str, str]:
    """Drop whitespace items; flag where a word starts (isolated and special items stand alone)."""
    kind = g.op("Mod", items, g.scalar(KINDS))
    prev = g.slice(g.concat([g.scalar(SPACE, shape=(1,)), kind]), 0, -1)
    continues = g.op("Equal", g.op("Mul", kind, prev), g.scalar(WORD * WORD))  # kinds are >= 1
    keep = g.op("Not", g.op("Equal", kind, g.scalar(SPACE)))
    start = g.op("And", keep, g.op("Not", continues))
    return g.compress(items, keep), g.compress(start, keep)


def _firsts(g: GraphBuilder, start: str, count: str) -> tuple[str, str]:
    first = g.flatten(g.op("NonZero", start))
    return first, g.concat([g.slice(first, 1, INT64_MAX), count])


def first_words(g: GraphBuilder, items: str, start: str, max_words: int, max_chars: int) -> Words:
    """The first ``max_words`` words, each cut to ``max_chars + 1`` characters."""
    count = g.op("Shape", start)
    word = g.op("Sub", g.op("CumSum", g.cast(start, TensorProto.INT64), g.scalar(0)), g.scalar(1))
    first, _ = _firsts(g, start, count)
    in_word = g.op("Sub", g.arange(count), g.op("Gather", first, word))
    keep = g.op("And", g.op("Less", word, g.scalar(max_words)), g.op("LessOrEqual", in_word, g.scalar(max_chars)))
    items, start, word = g.compress(items, keep), g.compress(start, keep), g.compress(word, keep)
    count = g.op("Shape", items)
    first, end = _firsts(g, start, count)
    return Words(items, word, first, end, count)
