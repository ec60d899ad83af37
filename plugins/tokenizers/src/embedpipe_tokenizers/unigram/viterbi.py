"""The Unigram model in the graph: every piece at every position, Viterbi, backtracking, fusing.

Hugging Face's best path over a word: node e (after character e) takes, among the pieces ending
there (and an unknown piece of one character, score ``min_score - 10``, where no one-character
piece starts), the one maximizing best[start] + score in float64, the earliest start winning a
tie; runs of unknown nodes are fused into one unknown token. Here the candidates for every
position come from one verified hash lookup of all windows (as the WordPiece graph finds its
pieces); a Loop advances every word STEPS nodes per iteration, summing in the library's order
from the word's start (words of very different lengths in Loops of their own, GROUPS), keeping
only the last L best scores per word as its state and handing each node's best score out as a
scan output (no state the size of the text is copied per iteration); then every node picks its
piece as the library does (best value, earliest start) and the path is marked by pointer
doubling from each word's end.

Why not cut words where no piece spans two characters, or into blocks combined afterwards (a
100,000-character run of "-" would then need no 100,000 Loop steps)? Both regroup the float64
sums, which changes nothing only when every sum is exact; the library's own scores are not
float32 values (see spec.library_scores) and real vocabularies hold exactly tied paths, so the
regrouped sums pick another path (a run of 33 "." in the real-size test vocabulary did).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from onnx import TensorProto, helper

from embedpipe_tokenizers.toolkit.graph import INT64_MAX, GraphBuilder
from embedpipe_tokenizers.toolkit.pieces import KEY_BITS, PieceTables, window_hashes

MARK_LEVELS = 20  # the path is marked up to 2**20 - 1 pieces back from each word's end
GROUPS = (64, 4096)  # word lengths that part the words into Loops of their own
STEPS = 16  # nodes per Loop iteration: the per-iteration cost of a Loop is several nodes' worth


def _piece_hits(g: GraphBuilder, symbols: str, p: PieceTables) -> str:
    """[M, L]: 1 + the token of the piece spelled by the window of length l+1 starting at each
    position (0: none). Windows holding a boundary (symbol -2) or an unknown character (0) never
    verify: every accepted trie node names the previous prefix as its parent."""
    width = p.max_len
    position = g.arange(g.op("Shape", symbols))
    padded = g.concat([symbols, g.const(np.full(width, -2), "pad")])
    window = g.take(padded, g.op("Add", g.unsqueeze(position, 1), g.const(np.arange(width)[None, :], "ahead")), width)
    key = g.op("Mul", window_hashes(g, window, p), g.scalar(2))
    value = g.label_encoder(key, p.keys or [-2], p.values or [0], 0, "piece_trie")
    parent = g.concat([g.op("Mul", g.unsqueeze(position, 1), g.scalar(0)), g.slice(key, 0, width - 1, axis=1)], axis=1)
    linked = g.cast(g.op("Equal", g.op("Mod", value, g.scalar(1 << KEY_BITS)), parent), TensorProto.INT64)
    exact = g.op("Equal", g.op("CumSum", linked, g.scalar(1)), g.const(np.arange(1, width + 1)[None, :], "lengths"))
    return g.where(exact, g.op("Div", value, g.scalar(1 << KEY_BITS)), g.scalar(0))


def _loop(
    g: GraphBuilder, hint: str, trips: str, carried: str, step: Callable[[GraphBuilder, str, str], tuple[str, str]]
) -> tuple[str, str]:
    """A Loop of ``trips`` iterations over one float64 state, ``step(body, iteration, state)`` ->
    (next state, this iteration's scan output); returns (final state, scan outputs stacked)."""
    b = g.subgraph(hint)
    t, cond, state = f"{b.prefix}/t", f"{b.prefix}/cond", f"{b.prefix}/state"
    new_state, scan = step(b, t, state)
    outs = [f"{b.prefix}/cond_out", f"{b.prefix}/state_out", f"{b.prefix}/scan_out"]
    b.nodes += [
        helper.make_node("Identity", [cond], [outs[0]]),
        helper.make_node("Identity", [new_state], [outs[1]]),
        helper.make_node("Identity", [scan], [outs[2]]),
    ]
    body = helper.make_graph(
        b.nodes,
        hint,
        [
            helper.make_tensor_value_info(t, TensorProto.INT64, []),
            helper.make_tensor_value_info(cond, TensorProto.BOOL, []),
            helper.make_tensor_value_info(state, TensorProto.DOUBLE, None),
        ],
        [
            helper.make_tensor_value_info(outs[0], TensorProto.BOOL, []),
            helper.make_tensor_value_info(outs[1], TensorProto.DOUBLE, None),
            helper.make_tensor_value_info(outs[2], TensorProto.DOUBLE, [STEPS, "lanes"]),
        ],
    )
    final, stacked = g._name(f"{hint}_state"), g._name(f"{hint}_scan")
    g.nodes.append(helper.make_node("Loop", [trips, g.scalar(True, bool), carried], [final, stacked], body=body))
    return final, stacked


def _padded(g: GraphBuilder, values: str) -> tuple[str, str]:
    """float64 ``values`` with -inf appended (so that an empty one can be read), and its length."""
    return g.concat([values, g.const(np.array([-np.inf]), "minus_inf", dtype=np.float64)]), g.op("Shape", values)


def _read(g: GraphBuilder, padded: tuple[str, str], index: str, columns: int | None = None) -> str:
    """``values[index]`` from ``_padded``: an index out of range reads -inf."""
    values, size = padded
    return g.take(values, g.op("Min", g.op("Max", index, g.scalar(0)), size), columns)


def _word_sums(g: GraphBuilder, starts: str, lengths: str, candidates: tuple[str, str], width: int, hint: str) -> str:
    """[T * lanes] float64: the best score of word l's node t is at t * lanes + l, for words
    ``starts``/``lengths``, by a Loop of ceil(max length / STEPS) iterations, STEPS nodes each."""
    ahead = g.const(np.arange(width)[None, :], "ahead")  # [1, L]
    # window[:, i]: the best score i + 1 nodes back (the word's start: 0, before it -inf).
    first_window = g.const(np.array([[0.0] + [-np.inf] * (width - 1)]), "first_window", dtype=np.float64)
    window = g.op("Add", g.unsqueeze(g.cast(g.op("Mul", starts, g.scalar(0)), TensorProto.DOUBLE), 1), first_window)
    # candidates[(e - l) * L + l]: the piece of l+1 characters ending at node e = start + t.
    ending = g.op("Add", g.op("Mul", g.op("Sub", g.unsqueeze(starts, 1), ahead), g.scalar(width)), ahead)

    def advance(b: GraphBuilder, t: str, window: str) -> tuple[str, str]:
        here = b.op("Add", ending, b.op("Mul", t, b.scalar(STEPS * width)))
        tops = []
        for step in range(STEPS):
            pieces = _read(b, candidates, b.op("Add", here, b.scalar(step * width)), width)
            tops.append(b.unsqueeze(b.reduce("ReduceMax", b.op("Add", window, pieces), 1), 0))
            window = b.concat([b.op("Transpose", tops[-1], perm=[1, 0]), b.slice(window, 0, width - 1, axis=1)], axis=1)
        return window, b.concat(tops)

    longest = g.reduce("ReduceMax", g.concat([lengths, g.scalar(0, shape=(1,))]), 0)
    trips = g.op("Div", g.op("Add", longest, g.scalar(STEPS - 1)), g.scalar(STEPS))  # 0 when no word is in the group
    _, sums = _loop(g, hint, trips, window, advance)  # [T / STEPS, STEPS, lanes]
    return g.flatten(sums)


def _best_scores(g: GraphBuilder, word_start: str, word_end: str, candidates: str, width: int) -> str:
    """[M] float64: every character's best path score from its word's start (others: garbage).
    Words go to one Loop per length class (GROUPS), so that a long word's iterations do not
    carry every short word along."""
    position = g.arange(g.op("Shape", word_start))
    starts = g.flatten(g.op("NonZero", word_start))
    lengths = g.op("Add", g.op("Sub", g.flatten(g.op("NonZero", word_end)), starts), g.scalar(1))
    word = g.op("Max", g.op("Sub", g.op("CumSum", g.cast(word_start, TensorProto.INT64), g.scalar(0)), g.scalar(1)), g.scalar(0))
    offset = g.op("Sub", position, g.take(g.concat([starts, g.scalar(0, shape=(1,))]), word))
    node_length = g.take(g.concat([lengths, g.scalar(0, shape=(1,))]), word)
    padded = _padded(g, candidates)
    best = g.cast(g.op("Mul", position, g.scalar(0)), TensorProto.DOUBLE)
    for group, (low, high) in enumerate(zip((0, *GROUPS), (*GROUPS, INT64_MAX))):
        member = g.op("And", g.op("Greater", lengths, g.scalar(low)), g.op("LessOrEqual", lengths, g.scalar(high)))
        lanes = g.flatten(g.op("NonZero", member))
        sums = _word_sums(g, g.take(starts, lanes), g.take(lengths, lanes), padded, width, f"viterbi_{group}")
        rank = g.op("Sub", g.op("CumSum", g.cast(member, TensorProto.INT64), g.scalar(0)), g.scalar(1))
        lane = g.take(g.concat([rank, g.scalar(0, shape=(1,))]), word)
        value = _read(g, _padded(g, sums), g.op("Add", g.op("Mul", offset, g.op("Shape", lanes)), lane))
        inside = g.op("And", g.op("Greater", node_length, g.scalar(low)), g.op("LessOrEqual", node_length, g.scalar(high)))
        best = g.where(inside, value, best)
    return best


def unigram_ids(g: GraphBuilder, stream: str, p: PieceTables, scores: np.ndarray, unk_id: int, unk_score: float) -> str:
    """Token ids [B] of the words in ``stream`` (BOUNDARY-separated symbols + 1), in order."""
    symbols = g.op("Sub", stream, g.scalar(1))
    width = p.max_len
    hits = _piece_hits(g, symbols, p)
    is_char = g.op("GreaterOrEqual", symbols, g.scalar(0))
    # An unknown piece of one character where no one-character piece starts.
    unknown = g.op("And", g.unsqueeze(is_char, 1), g.op("Equal", g.slice(hits, 0, 1, axis=1), g.scalar(0)))  # [M, 1]
    first = g.where(unknown, g.scalar(-1), g.slice(hits, 0, 1, axis=1))  # -1: the unknown piece
    hits = g.concat([first, g.slice(hits, 1, width, axis=1)], axis=1)
    score_table = g.const(np.concatenate([[-np.inf], np.asarray(scores, np.float64), [unk_score]]), "scores", dtype=np.float64)
    candidates = g.flatten(g.op("Gather", score_table, g.where(g.op("Less", hits, g.scalar(0)), g.scalar(len(scores) + 1), hits)))

    n = g.op("Shape", stream)
    position = g.arange(n)
    # Words: runs of characters between boundaries. Cutting a word where no piece spans two
    # characters, or into blocks, would regroup the float64 sums, and the library's scores are
    # not exact float32 values (library_scores): its ties fall by their last bits, so every word
    # is summed from its start in the library's order.
    word_start = g.op("And", is_char, g.op("Not", g.concat([g.scalar(False, bool, (1,)), g.slice(is_char, 0, -1)])))
    word_end = g.op("And", is_char, g.op("Not", g.concat([g.slice(is_char, 1, INT64_MAX), g.scalar(False, bool, (1,))])))
    best = _best_scores(g, word_start, word_end, candidates, width)
    offsets = g.const(np.arange(width)[None, :], "offsets")
    back = g.op("Max", g.op("Sub", g.unsqueeze(position, 1), offsets), g.scalar(0))  # [M, L] where a piece ending here starts

    # Each node's piece as the library picks it: the best score, then the earliest start.
    follows = g.concat([g.const(np.array([-np.inf]), "minus_inf", dtype=np.float64), g.slice(best, 0, -1)])
    before = g.where(word_start, g.const(np.zeros(1), "zero", dtype=np.float64), follows)  # best before a piece from here
    pieces = g.take(candidates, g.op("Add", g.op("Mul", back, g.scalar(width)), offsets), width)  # [M, L] ending here
    value = g.op("Add", g.take(before, back, width), pieces)
    top = g.reduce("ReduceMax", value, 1)
    choice = g.reduce("ReduceMax", g.where(g.op("Equal", value, g.unsqueeze(top, 1)), offsets, g.scalar(-1)), 1)
    choice = g.where(is_char, choice, g.scalar(0))

    piece_start = g.op("Sub", position, choice)
    token = g.take(g.flatten(hits), g.op("Add", g.op("Mul", piece_start, g.scalar(width)), choice))
    token = g.where(g.op("Less", token, g.scalar(0)), g.scalar(unk_id), g.op("Sub", token, g.scalar(1)))
    # The path: marked back from every word's end by pointer doubling (a sink slot past the end
    # takes the writes of unmarked nodes; boundaries point at themselves).
    jump = g.concat([g.where(is_char, g.op("Sub", piece_start, g.scalar(1)), position), n])
    mark = g.concat([g.cast(word_end, TensorProto.INT64), g.scalar(0, shape=(1,))])
    for level in range(MARK_LEVELS):
        target = g.where(g.op("Equal", mark, g.scalar(1)), jump, n)
        mark = g.op("ScatterElements", mark, target, mark, axis=0)
        if level + 1 < MARK_LEVELS:
            jump = g.take(jump, jump)  # now 2**(level+1) steps at once
    on_path = g.op("And", is_char, g.op("Equal", g.slice(mark, 0, -1), g.scalar(1)))
    # Fuse: an unknown token right after another unknown token of its word adds nothing.
    unk = g.op("Equal", token, g.scalar(unk_id))
    before_piece = g.op("Sub", piece_start, g.scalar(1))
    fused = g.op("And", unk, g.op("And", g.take(is_char, before_piece), g.take(unk, before_piece)))
    return g.compress(token, g.op("And", on_path, g.op("Not", fused)))
