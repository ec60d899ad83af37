"""The WordPiece sub-graph: longest piece at every position at once, then the greedy walk per word.

Hugging Face walks each word left to right, taking the longest vocabulary piece at each step
("##"-prefixed after the first), and gives one [UNK] for the whole word when a step finds none.
Here the longest verified piece is found for every position in parallel (one hash lookup over
all windows); the walk itself, a chain position -> position + piece length, is followed by
pointer doubling, so there is no Loop and the cost is a fixed number of Gathers. A walk that
reaches the boundary after its word succeeded; one stuck on a position without a piece did not.
"""

from __future__ import annotations

import numpy as np
from onnx import TensorProto

from embedpipe_tokenizers.toolkit.graph import GraphBuilder
from embedpipe_tokenizers.toolkit.pieces import KEY_BITS, PieceTables, window_hashes

SHIFT = 1 << 32  # the best hit packs as length * SHIFT + token id + 1


def longest_pieces(g: GraphBuilder, sym: str, pos: str, cont: str, p: PieceTables) -> tuple[str, str]:
    """Per position: the length of the longest vocabulary piece starting there (0: none; windows
    never pass a boundary, whose symbol is in no piece) and that piece's token id."""
    width = p.max_len
    lengths = np.arange(1, width + 1)[None, :]
    padded = g.concat([sym, g.const(np.zeros(width), "pad")])
    window = g.take(padded, g.op("Add", g.unsqueeze(pos, 1), g.const(np.arange(width)[None, :], "ahead")), width)
    prefix_hash = window_hashes(g, window, p)
    cont = g.unsqueeze(cont, 1)
    key = g.op("Add", g.op("Mul", prefix_hash, g.scalar(2)), cont)  # [M, L]
    value = g.label_encoder(key, p.keys or [-2], p.values or [0], 0, "piece_trie")  # 0: no node
    # A node is accepted when it and every shorter prefix's node name the previous key as parent.
    parent = g.concat([cont, g.slice(key, 0, width - 1, axis=1)], axis=1)  # the roots' keys are 0 and 1
    linked = g.cast(g.op("Equal", g.op("Mod", value, g.scalar(1 << KEY_BITS)), parent), TensorProto.INT64)
    exact = g.op("Equal", g.op("CumSum", linked, g.scalar(1)), g.const(lengths, "lengths"))
    token = g.op("Div", value, g.scalar(1 << KEY_BITS))  # token id + 1; 0: a prefix only
    found = g.op("And", exact, g.op("Greater", token, g.scalar(0)))
    best = g.where(found, g.op("Add", g.const(lengths * SHIFT, "shifted_lengths"), token), g.scalar(0))
    best = g.reduce("ReduceMax", best, 1)
    return g.op("Div", best, g.scalar(SHIFT)), g.op("Sub", g.op("Mod", best, g.scalar(SHIFT)), g.scalar(1))


def wordpiece_ids(g: GraphBuilder, items: str, start: str, p: PieceTables, unk_id: int, max_chars: int) -> str:
    """Token ids [B] of the words in ``items``, one per piece, or one [UNK] for a word that fails."""
    pos = g.arange(g.op("Shape", items))
    boundary = g.op("Less", items, g.scalar(0))
    cont = g.cast(g.op("Not", start), TensorProto.INT64)
    length, token = longest_pieces(g, g.op("Sub", items, g.scalar(1)), pos, cont, p)
    jump = g.op("Add", pos, length)  # boundaries and positions without a piece loop on themselves
    # path[t, w] = jump^t(first[w]), built flat (t-major) by doubling; a word has at most
    # max_chars pieces, so T = 2^K > max_chars steps reach its boundary.
    steps = max(1, int(max_chars).bit_length())
    path = g.flatten(g.op("NonZero", start))
    for k in range(steps):
        path = g.concat([path, g.take(jump, path)])
        if k + 1 < steps:
            jump = g.take(jump, jump)
    path = g.op("Reshape", path, g.const([1 << steps, -1], "shape"))  # [T, W]
    done = g.take(boundary, g.op("Gather", path, g.scalar((1 << steps) - 1), axis=0))
    # A word that reached its boundary emits its path's positions; any other word one [UNK]: its
    # row becomes [-1, -2, -2, ...]; -1 reads the [UNK] appended to the tokens, -2 the last
    # position, a boundary, which emits nothing.
    failed = np.full((1, 1 << steps), -2, np.int64)
    failed[0, 0] = -1
    path = g.flatten(g.where(g.unsqueeze(done, 1), g.op("Transpose", path), g.const(failed, "failed_path")))
    emits = g.take(g.concat([g.op("Not", boundary), g.const([True], "unk_emits", dtype=bool)]), path)
    return g.take(g.concat([token, g.scalar(unk_id, shape=(1,))]), g.compress(path, emits))
