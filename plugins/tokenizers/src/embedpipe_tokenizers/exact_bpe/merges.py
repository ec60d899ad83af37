"""Byte-level BPE on every word at once: UTF-8 bytes as ByteLevel symbols, then merge rounds in a Loop.

The words travel as one stream of token ids with SEP (-1) before each word and at the end. Each
round looks up the rank of every adjacent pair (one LabelEncoder over the merge table), finds each
word's lowest rank (one TopK over word * R + rank: each word's block starts at its SEP) and merges
all of that word's pairs of that rank, leftmost first where they overlap ("aaa" -> "aa" "a").
HF merges one pair at a time from a priority queue (lowest rank, then leftmost); with merges in
training order (spec.py checks it) a merge only creates pairs ranked after it, so doing all pairs
of the lowest rank at once gives the same result. Rounds stop when no word has a pair left; their
number is the largest count of distinct merges a word needs.
"""

from __future__ import annotations

import numpy as np
from onnx import TensorProto

from embedpipe_tokenizers.exact.graph import INT64_MAX, GraphBuilder
from embedpipe_tokenizers.exact_bpe.spec import Merges

SEP = -1
# Per UTF-8 length 1..4 (row 0 unused): the lead byte's marker bits, and 64**k for byte k's shift.
_LEAD = np.array([0, 0, 0xC0, 0xE0, 0xF0], np.int64)
_POWERS = np.array([1, 64, 4096, 262144], np.int64)


def symbol_stream(g: GraphBuilder, cp: str, token: str, word_start: str, byte_ids: np.ndarray) -> str:
    """The byte symbols of the elements, SEP before each word and at both ends; an added token is
    one symbol, its id."""
    length = g.op("Add", g.cast(g.op("GreaterOrEqual", cp, g.scalar(0x80)), TensorProto.INT64), g.scalar(1))
    for bound in (0x800, 0x10000):
        length = g.op("Add", length, g.cast(g.op("GreaterOrEqual", cp, g.scalar(bound)), TensorProto.INT64))
    column = g.const(np.arange(4)[None, :], "byte_index")
    length = g.unsqueeze(length, 1)  # [M, 1]
    shift = g.op("Max", g.op("Sub", g.op("Sub", length, g.scalar(1)), column), g.scalar(0))  # [M, 4]
    chunk = g.op("Div", g.unsqueeze(cp, 1), g.op("Gather", g.const(_POWERS, "powers"), shift))
    lead = g.op("Add", g.op("Gather", g.const(_LEAD, "lead_bits"), length), chunk)
    rest = g.op("Add", g.op("Mod", chunk, g.scalar(64)), g.scalar(0x80))
    first = g.op("Equal", column, g.scalar(0))
    byte = g.where(first, lead, rest)
    added = g.unsqueeze(g.op("Greater", token, g.scalar(-1)), 1)
    byte = g.where(added, g.scalar(0), byte)  # in range for the table; replaced below
    symbol = g.where(added, g.unsqueeze(token, 1), g.op("Gather", g.const(byte_ids, "byte_ids"), byte))
    length = g.where(added, g.scalar(1), length)
    sep = g.op("Add", g.op("Mul", g.unsqueeze(token, 1), g.scalar(0)), g.scalar(SEP))
    rows = g.concat([sep, symbol], axis=1)  # [M, 5]
    valid = g.concat([g.unsqueeze(word_start, 1), g.op("Less", column, length)], axis=1)
    ends = g.scalar(SEP, shape=(1,))
    return g.concat([ends, g.compress(g.flatten(rows), g.flatten(valid)), ends])


def _merge_round(g: GraphBuilder, stream: str, table: Merges, id_bound: int) -> tuple[str, str]:
    never = int(table.rank.max(initial=-1)) + 1  # the rank of a pair with no merge
    groups = never + 1
    left, right = g.slice(stream, 0, -1), g.slice(stream, 1, INT64_MAX)
    key = g.op("Add", g.op("Mul", left, g.scalar(id_bound + 1)), right)  # a SEP side never hits a key
    packed = g.label_encoder(
        key,
        (table.left * (id_bound + 1) + table.right).tolist() or [-2],
        (table.rank * id_bound + table.merged).tolist() or [0],
        never * id_bound,
        "merge_table",
    )
    rank = g.op("Div", packed, g.scalar(id_bound))
    merged = g.op("Mod", packed, g.scalar(id_bound))
    at_sep = g.op("Equal", left, g.scalar(SEP))
    word = g.op("CumSum", g.cast(at_sep, TensorProto.INT64), g.scalar(0))  # 1 for the first word
    order = g.op("Add", g.op("Mul", word, g.scalar(groups)), rank)
    ordered, _ = g.ops("TopK", order, g.op("Shape", order), outputs=2, largest=0, sorted=1)
    lowest = g.op("Mod", g.take(ordered, g.flatten(g.op("NonZero", at_sep))), g.scalar(groups))
    word_lowest = g.take(lowest, g.op("Sub", word, g.scalar(1)))
    candidate = g.op("And", g.op("Equal", rank, word_lowest), g.op("Less", rank, g.scalar(never)))
    # In a run of overlapping candidates (the same pair "x x"), every other one from the left.
    others = g.op("Not", candidate)
    previous = _previous(g, others)
    position = g.arange(g.op("Shape", candidate))
    chosen = g.op(
        "And",
        candidate,
        g.op("Equal", g.op("Mod", g.op("Sub", position, previous), g.scalar(2)), g.scalar(1)),
    )
    no = g.scalar(False, bool, (1,))
    merged_stream = g.where(g.concat([chosen, no]), g.concat([merged, g.scalar(0, shape=(1,))]), stream)
    stream = g.compress(merged_stream, g.op("Not", g.concat([no, chosen])))
    go_on = g.op("Greater", g.reduce("ReduceMax", g.cast(candidate, TensorProto.INT64), 0), g.scalar(0))
    return go_on, stream


def _previous(g: GraphBuilder, mark: str) -> str:
    """Per position: the nearest marked position before it (-1: none)."""
    counts = g.cast(mark, TensorProto.INT64)
    before = g.op("Sub", g.op("CumSum", counts, g.scalar(0)), counts)
    return g.take(g.concat([g.scalar(-1, shape=(1,)), g.flatten(g.op("NonZero", mark))]), before)


def merge_words(g: GraphBuilder, stream: str, table: Merges, id_bound: int) -> str:
    """The token ids of every word's BPE, in order, SEPs removed."""
    final = g.loop(stream, lambda body, state: _merge_round(body, state, table, id_bound), "bpe_round")
    return g.compress(final, g.op("Greater", final, g.scalar(SEP)))
