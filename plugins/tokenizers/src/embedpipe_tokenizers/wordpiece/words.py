"""From the normalized item stream to words, keeping only what can reach the truncated output.

Every word yields at least one token, so words past the body's token budget are dropped before
the WordPiece lookup; a word longer than ``max_input_chars_per_word`` becomes one [UNK] whatever
it holds, so only its first ``max_input_chars_per_word + 1`` characters are kept, the last made an
unknown character (no piece can cover it, so the word becomes [UNK] as Hugging Face makes it).
Both keep a 20,000-character input cheap.

The stream that leaves here starts with a dummy unknown word (so that every position has a word
before it; its [UNK] is dropped at the end) and ends with a boundary, and every word is followed
by a boundary: the WordPiece walk of a word ends on it.
"""

from __future__ import annotations

import numpy as np
from onnx import TensorProto

from embedpipe_tokenizers.toolkit.graph import GraphBuilder
from embedpipe_tokenizers.wordpiece.tables import SPACE_ITEM, UNKNOWN_ITEM


def first_words(g: GraphBuilder, items: str, max_words: int | None, max_chars: int) -> tuple[str, str]:
    """Items [M] of the dummy word and the first ``max_words`` words (all for None), and where each word starts."""
    items = g.concat([g.const([UNKNOWN_ITEM, SPACE_ITEM], "dummy_word"), items])
    space = g.op("Less", items, g.scalar(0))
    after_space = g.slice(g.concat([g.scalar(True, bool, (1,)), space]), 0, -1)
    start = g.op("And", g.op("Not", space), after_space)
    word = g.op("Sub", g.op("CumSum", g.cast(start, TensorProto.INT64), g.scalar(0)), g.scalar(1))
    first = g.flatten(g.op("NonZero", start))
    in_word = g.op("Sub", g.arange(g.op("Shape", items)), g.take(first, word))
    ends_word = g.op("And", space, g.op("Not", after_space))  # the boundary right after a word
    in_first = None if max_words is None else g.op("Less", word, g.scalar(max_words + 1))
    keep = g.op("Or", g.op("LessOrEqual", in_word, g.scalar(max_chars)), ends_word)
    if in_first is not None:
        keep = g.op("And", in_first, keep)
    too_long = g.op("And", g.op("Equal", in_word, g.scalar(max_chars)), g.op("Not", space))
    items = g.where(too_long, g.scalar(UNKNOWN_ITEM), items)
    items = g.concat([g.compress(items, keep), g.scalar(SPACE_ITEM, shape=(1,))])
    start = g.concat([g.compress(start, keep), g.const(np.zeros(1, bool), "no_start", dtype=bool)])
    return items, start
