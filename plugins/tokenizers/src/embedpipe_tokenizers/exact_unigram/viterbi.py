"""The Unigram model in the graph: every piece at every position, Viterbi, backtracking, fusing.

Hugging Face's best path over a word: node e (after character e) takes, among the pieces ending
there (and an unknown piece of one character, score ``min_score - 10``, where no one-character
piece starts), the one maximizing best[start] + score in float64, the earliest start winning a
tie; runs of unknown nodes are fused into one unknown token. Here the candidates for every
position come from one verified hash lookup of all windows (as the WordPiece graph finds its
pieces), words are cut into segments where no piece spans two characters (random text, unknown
characters: short segments), a Loop advances all segments by one character per iteration (as
many iterations as the longest segment has characters), and the path is read back by binary
lifting over the back pointers, with no second Loop.
"""

from __future__ import annotations

import numpy as np
from onnx import TensorProto, helper

from embedpipe_tokenizers.exact.graph import GraphBuilder
from embedpipe_tokenizers.exact.pieces import KEY_BITS, PieceTables, window_hashes

LIFTING_LEVELS = 17  # back pointers followed up to 2**17 - 1 steps: more than any word's characters


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


def _dp_loop(g: GraphBuilder, starts: str, lengths: str, candidates: str, n: str, width: int) -> tuple[str, str, str]:
    """Best scores, chosen piece lengths - 1 and path depths (within the segment) of every node,
    by a Loop over the offset within the segment (all segments at once)."""
    b = g.subgraph("viterbi")
    t, cond = f"{b.prefix}/t", f"{b.prefix}/cond"
    best, choice, depth = f"{b.prefix}/best", f"{b.prefix}/choice", f"{b.prefix}/depth"
    out = {name: f"{b.prefix}/{name}_out" for name in ("cond", "best", "choice", "depth")}
    active = b.op("Greater", lengths, t)
    end = b.compress(b.op("Add", starts, t), active)  # [k] the nodes this step decides
    start = b.op("Max", b.op("Sub", b.unsqueeze(end, 1), b.const(np.arange(width)[None, :], "lengths")), b.scalar(0))
    before = b.op("Sub", start, b.scalar(1))  # the node a piece starting at `start` follows
    # A piece starting the segment follows its cut: best 0 and depth 0 there.
    first = b.op("Less", before, b.unsqueeze(b.compress(starts, active), 1))
    score = b.op(
        "Add",
        b.where(first, b.const(np.zeros((1, 1)), "zero_score", dtype=np.float64), b.take(best, before, width)),
        b.take(
            candidates, b.op("Add", b.op("Mul", start, b.scalar(width)), b.const(np.arange(width)[None, :], "offsets")), width
        ),
    )
    top = b.reduce("ReduceMax", score, 1)
    chosen = b.reduce(
        "ReduceMax",
        b.where(b.op("Equal", score, b.unsqueeze(top, 1)), b.const(np.arange(width)[None, :], "choices"), b.scalar(-1)),
        1,
    )
    previous_depth = b.where(first, b.scalar(0), b.take(depth, before, width))
    depth_out = b.op("Add", b.flatten(b.op("GatherElements", previous_depth, b.unsqueeze(chosen, 1), axis=1)), b.scalar(1))
    b.nodes += [
        helper.make_node("Identity", [cond], [out["cond"]]),
        helper.make_node("ScatterElements", [best, end, top], [out["best"]], axis=0),
        helper.make_node("ScatterElements", [choice, end, chosen], [out["choice"]], axis=0),
        helper.make_node(
            "ScatterElements",
            [depth, end, depth_out],
            [out["depth"]],
            axis=0,
        ),
    ]
    body = helper.make_graph(
        b.nodes,
        "viterbi_step",
        [
            helper.make_tensor_value_info(t, TensorProto.INT64, []),
            helper.make_tensor_value_info(cond, TensorProto.BOOL, []),
            helper.make_tensor_value_info(best, TensorProto.DOUBLE, None),
            helper.make_tensor_value_info(choice, TensorProto.INT64, None),
            helper.make_tensor_value_info(depth, TensorProto.INT64, None),
        ],
        [
            helper.make_tensor_value_info(out["cond"], TensorProto.BOOL, []),
            helper.make_tensor_value_info(out["best"], TensorProto.DOUBLE, None),
            helper.make_tensor_value_info(out["choice"], TensorProto.INT64, None),
            helper.make_tensor_value_info(out["depth"], TensorProto.INT64, None),
        ],
    )
    zeros = g.op("ConstantOfShape", n, value=helper.make_tensor("zero", TensorProto.INT64, [1], [0]))
    zero_scores = g.op("ConstantOfShape", n, value=helper.make_tensor("zero", TensorProto.DOUBLE, [1], [0.0]))
    trips = g.reduce("ReduceMax", g.concat([lengths, g.scalar(0, shape=(1,))]), 0)
    outs = [g._name("dp_best"), g._name("dp_choice"), g._name("dp_depth")]
    g.nodes.append(helper.make_node("Loop", [trips, g.scalar(True, bool), zero_scores, zeros, zeros], outs, body=body))
    return outs[0], outs[1], outs[2]


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
    # Segments: each word cut after every character that no piece (nor the unknown piece) runs
    # past. Every path of the word ends a piece there, so the best path is the segments' best
    # paths one after another (sums of spm's float32 scores are exact in float64, so ties stay).
    offsets = g.const(np.arange(width)[None, :], "offsets")
    has_piece = g.cast(g.op("Not", g.op("Equal", hits, g.scalar(0))), TensorProto.INT64)
    runs_past = g.reduce("ReduceMax", g.op("Mul", has_piece, offsets), 1)  # [M] characters past the first
    back = g.op("Max", g.op("Sub", g.unsqueeze(position, 1), offsets), g.scalar(0))
    spanned = g.op("Greater", g.reduce("ReduceMax", g.op("Sub", g.take(runs_past, back, width), offsets), 1), g.scalar(0))
    open_ = g.op("And", is_char, spanned)  # some piece holds this character and the next
    segment_start = g.op("And", is_char, g.op("Not", g.concat([g.scalar(False, bool, (1,)), g.slice(open_, 0, -1)])))
    starts = g.flatten(g.op("NonZero", segment_start))
    ends = g.flatten(g.op("NonZero", g.op("And", is_char, g.op("Not", open_))))
    _, choice, depth = _dp_loop(g, starts, g.op("Add", g.op("Sub", ends, starts), g.scalar(1)), candidates, n, width)

    piece_start = g.op("Sub", position, choice)
    token = g.take(g.flatten(hits), g.op("Add", g.op("Mul", piece_start, g.scalar(width)), choice))
    token = g.where(g.op("Less", token, g.scalar(0)), g.scalar(unk_id), g.op("Sub", token, g.scalar(1)))
    jump = g.where(is_char, g.op("Sub", piece_start, g.scalar(1)), position)  # boundaries stay put
    # A node is on its segment's path when the ancestor of the segment's end at its depth is itself.
    segment = g.op("Sub", g.op("CumSum", g.cast(segment_start, TensorProto.INT64), g.scalar(0)), g.scalar(1))
    own_end = g.take(g.concat([ends, g.scalar(0, shape=(1,))]), g.op("Max", segment, g.scalar(0)))
    steps = g.op("Sub", g.take(depth, own_end), depth)
    node = own_end
    for level in range(LIFTING_LEVELS):
        bit = g.op("Equal", g.op("Mod", g.op("Div", steps, g.scalar(1 << level)), g.scalar(2)), g.scalar(1))
        node = g.where(bit, g.take(jump, node), node)
        if level + 1 < LIFTING_LEVELS:
            jump = g.take(jump, jump)  # now 2**(level+1) steps at once
    on_path = g.op("And", g.op("And", is_char, g.op("GreaterOrEqual", steps, g.scalar(0))), g.op("Equal", node, position))
    # Fuse: an unknown token right after another unknown token of its word adds nothing.
    unk = g.op("Equal", token, g.scalar(unk_id))
    before = g.op("Sub", piece_start, g.scalar(1))
    fused = g.op("And", unk, g.op("And", g.take(is_char, before), g.take(unk, before)))
    return g.compress(token, g.op("And", on_path, g.op("Not", fused)))
