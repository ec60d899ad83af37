"""From normalized items to the words the Unigram model sees: Replace(" {2,}", " "),
WhitespaceSplit, Metaspace (replace, prepend, split), all as tensor steps on items.

The result is a symbol stream for the model: a word's characters as ``symbol + 1`` (1: a
character in no piece), each word preceded by a BOUNDARY, the stream closed by one. Only the
first ``max_words`` words are kept: each gives at least one token, so later ones cannot reach the
truncated output.
"""

from __future__ import annotations

from onnx import TensorProto

from embedpipe_tokenizers.toolkit.graph import GraphBuilder
from embedpipe_tokenizers.unigram.tables import FLAGS, META, SEGMENT, SPACE_FLAG, SPECIAL, WHITESPACE

BOUNDARY = -1


def _flag(g: GraphBuilder, items: str, flag: int) -> str:
    has = g.op("Equal", g.op("Mod", g.op("Div", items, g.scalar(flag)), g.scalar(2)), g.scalar(1))
    return g.op("And", has, g.op("Greater", items, g.scalar(0)))


def _previous(g: GraphBuilder, x: str, first: str) -> str:
    return g.concat([first, g.slice(x, 0, -1)])


def _with_before(g: GraphBuilder, items: str, before: str) -> str:
    """Each item preceded by ``before`` (0: nothing), zeros dropped."""
    rows = g.flatten(g.concat([g.unsqueeze(before, 1), g.unsqueeze(items, 1)], axis=1))
    return g.compress(rows, g.op("Not", g.op("Equal", rows, g.scalar(0))))


def model_words(
    g: GraphBuilder, items: str, *, collapse_spaces: bool, whitespace_split: bool, prepend: bool, split: bool, meta_item: int,
    max_words: int | None,
) -> str:  # fmt: skip
    start_true = g.scalar(True, bool, (1,))
    if collapse_spaces:
        space = _flag(g, items, SPACE_FLAG)
        items = g.compress(items, g.op("Not", g.op("And", space, _previous(g, space, g.scalar(False, bool, (1,))))))
    if whitespace_split:
        items = g.where(_flag(g, items, WHITESPACE), g.scalar(SEGMENT), items)
    items = g.where(_flag(g, items, SPACE_FLAG), g.scalar(meta_item), items)
    separator = g.op("Less", items, g.scalar(0))
    run_start = g.op("And", g.op("Not", separator), _previous(g, separator, start_true))
    if prepend:
        needs = g.op("And", run_start, g.op("Not", g.op("Or", _flag(g, items, META), _flag(g, items, SPECIAL))))
        items = _with_before(g, items, g.where(needs, g.scalar(meta_item), g.scalar(0)))
        separator = g.op("Less", items, g.scalar(0))
        run_start = g.op("And", g.op("Not", separator), _previous(g, separator, start_true))
    word_start = g.op("Or", run_start, _flag(g, items, META)) if split else run_start
    # Keep the first max_words words (all for None).
    number = None if max_words is None else g.op("CumSum", g.cast(word_start, TensorProto.INT64), g.scalar(0))
    keep = g.op("Not", separator)
    if number is not None:
        keep = g.op("And", keep, g.op("LessOrEqual", number, g.scalar(max_words)))
    symbols = g.compress(g.op("Div", items, g.scalar(FLAGS)), keep)
    starts = g.compress(word_start, keep)
    stream = _with_before(g, symbols, g.where(starts, g.scalar(BOUNDARY), g.scalar(0)))
    return g.concat([g.scalar(BOUNDARY, shape=(1,)), stream, g.scalar(BOUNDARY, shape=(1,))])
