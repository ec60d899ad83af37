"""The WordPiece sub-graph: longest piece at every position at once, then the greedy walk per word.

Hugging Face walks each word left to right, taking the longest vocabulary piece at each step
("##"-prefixed after the first), and gives one [UNK] for the whole word when a step finds none
or when the word is longer than ``max_input_chars_per_word``. Here the longest verified piece is
found for every position in parallel (one hash lookup over all windows); the walk itself, a
chain position -> position + piece length, is followed by pointer doubling, so there is no Loop
and the cost is a fixed number of Gathers.
"""

from __future__ import annotations

import numpy as np
from onnx import TensorProto

from embedpipe_tokenizers.exact.graph import INT64_MAX, GraphBuilder
from embedpipe_tokenizers.exact.pieces import KEY_BITS, PieceTables
from embedpipe_tokenizers.exact.tables import KINDS, SPECIAL
from embedpipe_tokenizers.exact.words import Words

SHIFT = 1 << 32  # the best hit packs as length * SHIFT + token id + 1


def longest_pieces(g: GraphBuilder, sym: str, pos: str, remain: str, cont: str, p: PieceTables) -> tuple[str, str]:
    """Per position: the length of the longest vocabulary piece starting there inside its word
    (0: none) and that piece's token id."""
    width = p.max_len
    lengths = g.const(np.arange(1, width + 1)[None, :], "lengths")
    padded = g.concat([sym, g.const(np.zeros(width), "pad")])
    window = g.op("Gather", padded, g.op("Add", g.unsqueeze(pos, 1), g.const(np.arange(width)[None, :], "ahead")))
    prefix_hash = g.op("CumSum", g.op("Mul", window, g.const(p.weights[None, :], "hash_weights")), g.scalar(1))
    cont = g.unsqueeze(cont, 1)
    key = g.op("Add", g.op("Mul", prefix_hash, g.scalar(2)), cont)  # [M, L]
    value = g.label_encoder(key, p.keys or [-2], p.values or [0], 0, "piece_trie")  # 0: no node
    # A node is accepted when it and every shorter prefix's node name the previous key as parent.
    parent = g.concat([cont, g.slice(key, 0, width - 1, axis=1)], axis=1)  # the roots' keys are 0 and 1
    linked = g.cast(g.op("Equal", g.op("Mod", value, g.scalar(1 << KEY_BITS)), parent), TensorProto.INT64)
    exact = g.op("Equal", g.op("CumSum", linked, g.scalar(1)), lengths)
    token = g.op("Div", value, g.scalar(1 << KEY_BITS))  # token id + 1, 0: a prefix only
    inside = g.op("LessOrEqual", lengths, g.unsqueeze(remain, 1))
    found = g.op("And", g.op("And", exact, inside), g.op("Greater", token, g.scalar(0)))
    best = g.reduce("ReduceMax", g.where(found, g.op("Add", g.op("Mul", lengths, g.scalar(SHIFT)), token), g.scalar(0)), 1)
    return g.op("Div", best, g.scalar(SHIFT)), g.op("Sub", g.op("Mod", best, g.scalar(SHIFT)), g.scalar(1))


def wordpiece_ids(g: GraphBuilder, words: Words, p: PieceTables, unk_id: int, max_chars: int) -> str:
    """Token ids [B] of ``words``: special items give their own id, over-long words one [UNK]."""
    count, word, first = words.count, words.word, words.first
    pos = g.arange(count)
    word_end = g.op("Gather", words.end, word)
    remain = g.op("Sub", word_end, pos)
    cont = g.cast(g.op("Greater", pos, g.op("Gather", first, word)), TensorProto.INT64)
    kind = g.op("Mod", words.items, g.scalar(KINDS))
    sym = g.op("Div", words.items, g.scalar(KINDS))
    special = g.op("Equal", kind, g.scalar(SPECIAL))
    too_long = g.op("Gather", g.op("Greater", g.op("Sub", words.end, first), g.scalar(max_chars)), word)
    length, token = longest_pieces(g, g.where(special, g.scalar(0), sym), pos, remain, cont, p)
    forced = g.op("Or", special, too_long)
    step = g.where(forced, remain, length)
    token = g.where(forced, g.where(special, sym, g.scalar(unk_id)), token)
    # Next position of the walk; the end of word w is node count + w, which loops on itself; a
    # position with no piece (step 0) loops on itself too, so its word never reaches its end.
    after = g.op("Add", pos, step)
    after = g.where(g.op("Equal", after, word_end), g.op("Add", word, count), after)
    jump = g.concat([after, g.op("Add", g.arange(g.op("Shape", first)), count)])
    # path[w, t] = jump^t(first[w]); a word has at most max_chars pieces, so 2^K > max_chars steps reach its end.
    steps = max(1, int(max_chars).bit_length())
    path = g.unsqueeze(first, 1)
    for k in range(steps):
        path = g.concat([path, g.op("Gather", jump, path)], axis=1)
        if k + 1 < steps:
            jump = g.op("Gather", jump, jump)
    # A word that reached its end emits its path's positions; any other word one [UNK]: its row
    # becomes [-1, end, end, ...], and -1 reads the [UNK] appended to the token list.
    done = g.op("GreaterOrEqual", g.op("Gather", path, g.scalar((1 << steps) - 1), axis=1), count)
    failed = np.full((1, 1 << steps), INT64_MAX, np.int64)
    failed[0, 0] = -1
    path = g.flatten(g.where(g.unsqueeze(done, 1), path, g.const(failed, "failed_path")))
    path = g.compress(path, g.op("Less", path, count))
    return g.op("Gather", g.concat([token, g.scalar(unk_id, shape=(1,))]), path)

