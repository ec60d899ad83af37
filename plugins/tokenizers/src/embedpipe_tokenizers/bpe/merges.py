"""Byte-level BPE on every word at once: UTF-8 bytes as ByteLevel symbols, then merge rounds in a Loop.

The words travel as one stream of token ids with SEP (-1) before each word and at the end. Each
round looks up the rank of every adjacent pair (one LabelEncoder over the merge table), finds each
word's lowest rank (one TopK over word * R + rank: each word's block starts at its SEP) and merges
all of that word's pairs of that rank, leftmost first where they overlap ("aaa" -> "aa" "a").
HF merges one pair at a time from a priority queue (lowest rank, then leftmost); with merges in
training order (spec.py checks it) a merge only creates pairs ranked after it, so doing all pairs
of the lowest rank at once gives the same result.

That alone takes as many rounds as a word needs distinct merges: thousands for a long run of
digits, CJK or random letters, each round over the whole stream. So each round also merges every
*eager* pair: a pair (A, B) with left neighbour Z and right neighbour C whose rank is below every
merge that could ever take A from the left or B from the right. A's left neighbour only ever grows
leftwards from Z (a token whose right spine holds Z), so A can be taken from the left only by a
merge (T, A) with Z on T's right spine; the least such rank is ``left_threat(Z, A)``, and
``right_threat(B, C)`` likewise. Until HF reaches the pair's rank nothing can touch A or B, and
every pair the early merge creates ranks after it, so HF's later choices are unchanged. Eager pairs
never overlap each other or the lowest-rank pairs (each would need a rank below the other's).
Rounds stop when no word has a pair left.
"""

from __future__ import annotations

import numpy as np
from onnx import TensorProto

from embedpipe_tokenizers.bpe.spec import Merges
from embedpipe_tokenizers.toolkit.graph import INT64_MAX, GraphBuilder

SEP = -1
_ADDED = -2  # an added token t travels in the byte stream as _ADDED - t, below SEP
_WINDOW = 4  # the longest byte window _cuts looks up
# Per UTF-8 length 1..4 (row 0 unused): the lead byte's marker bits, and 64**k for byte k's shift.
_LEAD = np.array([0, 0, 0xC0, 0xE0, 0xF0], np.int64)
_POWERS = np.array([1, 64, 4096, 262144], np.int64)


def _shift_left(g: GraphBuilder, x: str, k: int) -> str:
    """x[i + k], -1 past the end."""
    return g.slice(g.concat([x, g.const(np.full(k, -1), "pad")]), k, INT64_MAX)


def _shift_right(g: GraphBuilder, x: str, k: int) -> str:
    """x[i - k] for a bool x, False before the start."""
    return g.slice(g.concat([g.const(np.zeros(k, bool), "pad", dtype=bool), x]), 0, -k)


def symbol_stream(g: GraphBuilder, cp: str, token: str, word_start: str, table: Merges, byte_ids: np.ndarray) -> str:
    """The byte symbols of the elements, SEP before each word, at both ends and wherever ``_cuts``
    allows (BPE of the pieces is BPE of the word: no merge ever joins them); an added token is one
    symbol, its id."""
    length = g.op("Add", g.cast(g.op("GreaterOrEqual", cp, g.scalar(0x80)), TensorProto.INT64), g.scalar(1))
    for bound in (0x800, 0x10000):
        length = g.op("Add", length, g.cast(g.op("GreaterOrEqual", cp, g.scalar(bound)), TensorProto.INT64))
    column = g.const(np.arange(4)[None, :], "byte_index")
    length = g.unsqueeze(length, 1)  # [M, 1]
    shift = g.op("Max", g.op("Sub", g.op("Sub", length, g.scalar(1)), column), g.scalar(0))  # [M, 4]
    chunk = g.op("Div", g.unsqueeze(cp, 1), g.op("Gather", g.const(_POWERS, "powers"), shift))
    lead = g.op("Add", g.op("Gather", g.const(_LEAD, "lead_bits"), length), chunk)
    rest = g.op("Add", g.op("Mod", chunk, g.scalar(64)), g.scalar(0x80))
    byte = g.where(g.op("Equal", column, g.scalar(0)), lead, rest)
    added = g.unsqueeze(g.op("Greater", token, g.scalar(-1)), 1)
    byte = g.where(added, g.op("Sub", g.scalar(_ADDED), g.unsqueeze(token, 1)), byte)  # token t as _ADDED - t
    length = g.where(added, g.scalar(1), length)
    sep = g.op("Add", g.op("Mul", g.unsqueeze(token, 1), g.scalar(0)), g.scalar(SEP))
    rows = g.concat([sep, byte], axis=1)  # [M, 5]
    valid = g.concat([g.unsqueeze(word_start, 1), g.op("Less", column, length)], axis=1)
    ends = g.scalar(SEP, shape=(1,))
    stream = g.concat([ends, g.compress(g.flatten(rows), g.flatten(valid)), ends])
    # A SEP after every cut: the pairs (value, SEP) with the SEP kept where the cut is.
    with_sep = g.concat([g.unsqueeze(stream, 1), g.op("Add", g.op("Mul", g.unsqueeze(stream, 1), g.scalar(0)), g.scalar(SEP))], axis=1)
    keep = g.concat([g.unsqueeze(g.op("Equal", stream, stream), 1), g.unsqueeze(_cuts(g, stream, table, byte_ids), 1)], axis=1)
    stream = g.compress(g.flatten(with_sep), g.flatten(keep))
    symbol = g.op("Gather", g.const(byte_ids, "byte_ids"), g.op("Max", stream, g.scalar(0)))
    symbol = g.where(g.op("Less", stream, g.scalar(SEP)), g.op("Sub", g.scalar(_ADDED), stream), symbol)
    return g.where(g.op("Equal", stream, g.scalar(SEP)), stream, symbol)


def _window_keys(table: Merges, byte_ids: np.ndarray) -> np.ndarray:
    """The byte windows that may lie inside a token merges can make: every such token of 2 or 3
    bytes, and every 4-byte substring of a longer one, as ``_key`` packs them."""
    text = {int(t): bytes([b]) for b, t in enumerate(byte_ids.tolist())}
    for i in np.argsort(table.rank, kind="stable").tolist():
        text[int(table.merged[i])] = text[int(table.left[i])] + text[int(table.right[i])]
    windows = {w for t in text.values() for w in ([t] if len(t) < _WINDOW else [t[j : j + _WINDOW] for j in range(len(t) - _WINDOW + 1)])}
    return np.array(sorted(_key(w) for w in windows if len(w) > 1), np.int64)


def _key(window: bytes) -> int:
    """Bytes as one number, a 1 bit above them marking the length."""
    return int.from_bytes(b"\x01" + window, "big")


def _cuts(g: GraphBuilder, stream: str, table: Merges, byte_ids: np.ndarray) -> str:
    """Per position i of the byte stream (bytes >= 0, SEP and added tokens < 0): whether no token
    merges can make straddles bytes i and i+1, so BPE never merges across them.

    A token straddling them of 2 or 3 bytes is one of the windows [i, i+2), [i-1, i+2), [i, i+3); a
    longer one holds one of the 4-byte windows starting at i-2, i-1 or i. Windows holding a
    non-byte never match."""
    n = g.op("Shape", stream)
    keys = {1: g.op("Add", stream, g.scalar(256))}  # the length bit above one byte
    bad = {1: g.op("Less", stream, g.scalar(0))}
    for length in range(2, _WINDOW + 1):
        nxt = g.op("Max", _shift_left(g, stream, length - 1), g.scalar(-1))
        keys[length] = g.op("Add", g.op("Mul", keys[length - 1], g.scalar(256)), nxt)
        bad[length] = g.op("Or", bad[length - 1], g.op("Less", nxt, g.scalar(0)))
    windows = [g.where(bad[length], g.scalar(-1), keys[length]) for length in range(2, _WINDOW + 1)]
    known = _window_keys(table, byte_ids)
    hit = g.op("Greater", g.label_encoder(g.concat(windows), known.tolist(), [1] * len(known), 0, "windows"), g.scalar(0))
    straddled = None
    for index, length in enumerate(range(2, _WINDOW + 1)):
        hits = g.op("Slice", hit, g.op("Mul", n, g.scalar(index, shape=(1,))), g.op("Mul", n, g.scalar(index + 1, shape=(1,))), g.scalar(0, shape=(1,)))
        for back in range(length - 1):
            shifted = _shift_right(g, hits, back) if back else hits
            straddled = shifted if straddled is None else g.op("Or", straddled, shifted)
    both_bytes = g.op("Not", bad[2])
    return g.op("And", both_bytes, g.op("Not", straddled))


def _spines(table: Merges, keep: np.ndarray, along: np.ndarray) -> dict[int, set[int]]:
    """Per merged token: itself and every token on its spine (following ``along``, the right or the
    left part of each merge making it, down to the bytes), in training order."""
    spines: dict[int, set[int]] = {}
    for i in np.argsort(table.rank, kind="stable").tolist():
        part = int(along[i])
        spines.setdefault(int(keep[i]), {int(keep[i])}).update(spines.get(part, {part}))
    return spines


def threats(table: Merges) -> dict[tuple[int, int], tuple[int, int]]:
    """Per pair (X, Y): the least rank of a merge that can take Y from the left while X is its left
    neighbour (a merge (T, Y), X on T's right spine), and the least rank of one that can take X from
    the right while Y is its right neighbour (a merge (X, T), Y on T's left spine); ``never`` (one
    past the last rank) where there is none."""
    never = int(table.rank.max(initial=-1)) + 1
    right_spine = _spines(table, table.merged, table.right)
    left_spine = _spines(table, table.merged, table.left)
    out: dict[tuple[int, int], list[int]] = {}
    for a, b, r in zip(table.left.tolist(), table.right.tolist(), table.rank.tolist()):
        for z in right_spine.get(a, {a}):
            entry = out.setdefault((z, b), [never, never])
            entry[0] = min(entry[0], r)
        for c in left_spine.get(b, {b}):
            entry = out.setdefault((a, c), [never, never])
            entry[1] = min(entry[1], r)
    return {pair: (lt, rt) for pair, (lt, rt) in out.items()}


def _pair_table(g: GraphBuilder, key: str, pairs: np.ndarray, values: np.ndarray, default: int, id_bound: int, hint: str) -> str:
    """A LabelEncoder from the pair key left * (id_bound + 1) + right ([n, 2] ``pairs``) to ``values``."""
    keys = pairs[:, 0] * (id_bound + 1) + pairs[:, 1]
    return g.label_encoder(key, keys.tolist() or [-2], values.tolist() or [0], default, hint)


def _merge_round(g: GraphBuilder, stream: str, table: Merges, id_bound: int) -> tuple[str, str]:
    never = int(table.rank.max(initial=-1)) + 1  # the rank of a pair with no merge
    groups = never + 1
    left, right = g.slice(stream, 0, -1), g.slice(stream, 1, INT64_MAX)
    key = g.op("Add", g.op("Mul", left, g.scalar(id_bound + 1)), right)  # a SEP side never hits a key
    pairs = np.stack([table.left, table.right], axis=1)
    packed = _pair_table(g, key, pairs, table.rank * id_bound + table.merged, never * id_bound, id_bound, "merge_table")
    rank = g.op("Div", packed, g.scalar(id_bound))
    merged = g.op("Mod", packed, g.scalar(id_bound))
    threat = threats(table)
    threat_pairs = np.array(sorted(threat), np.int64).reshape(-1, 2)
    threat_values = np.array([threat[a, b][0] * groups + threat[a, b][1] for a, b in threat_pairs.tolist()], np.int64)
    both = _pair_table(g, key, threat_pairs, threat_values, never * groups + never, id_bound, "threat_table")
    left_threat = g.op("Div", both, g.scalar(groups))
    right_threat = g.op("Mod", both, g.scalar(groups))
    safe_left = g.op("Less", rank, g.concat([g.scalar(never, shape=(1,)), g.slice(left_threat, 0, -1)]))
    safe_right = g.op("Less", rank, g.concat([g.slice(right_threat, 1, INT64_MAX), g.scalar(never, shape=(1,))]))
    eager = g.op("And", g.op("And", safe_left, safe_right), g.op("Less", rank, g.scalar(never)))
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
    alternate = g.op("Equal", g.op("Mod", g.op("Sub", position, previous), g.scalar(2)), g.scalar(1))
    chosen = g.op("Or", g.op("And", candidate, alternate), eager)
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
