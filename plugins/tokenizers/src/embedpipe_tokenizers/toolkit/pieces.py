"""A vocabulary (WordPiece's, Unigram's) as one lookup table over a trie of its pieces.

Every prefix of every piece is a trie node, keyed by a hash of its symbols: the sum of symbol times a
random per-position weight, modulo a prime below 2**39 (all prefixes of a window hash at once with one
CumSum). The weights are uniform over the field, so two given strings collide with probability 1/p,
and a vocabulary of a million trie nodes draws collision-free weights within a few tries; plain
integer weights (no modulus) collide systematically at real vocabulary sizes. A node's value holds its
parent's key and, if the prefix is itself a piece, its token id. The graph accepts the node found
for a window only when, for every shorter prefix of the window, the node found names the previous
one as its parent: keys are unique among trie nodes, so by induction the accepted node spells the
window exactly and a hash collision can never produce a wrong id.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from embedpipe.errors import UnsupportedModelError
from embedpipe_tokenizers.toolkit.graph import GraphBuilder
from embedpipe_tokenizers.toolkit.spec import BERT_OP_FIX

KEY_BITS = 40  # node keys < 2**40; a value is (token + 1) << KEY_BITS | parent key
TOKEN_BITS = 62 - KEY_BITS
HASH_PRIME = 549_755_813_881  # the largest prime below 2**39: keys 2 * hash + 1 stay below 2**40
MAX_SYMBOL = 1 << 23  # |symbol| * weight < 2**62: no int64 overflow before the modulus


@dataclass(frozen=True)
class Entry:
    """A vocabulary string as the lookup sees it: its characters, and whether it continues a word."""

    text: str
    continuation: bool
    token_id: int


@dataclass(frozen=True)
class PieceTables:
    """``weights`` [L]: a window's hash for length l+1 is sum(weights[:l+1] * symbols[:l+1]) mod
    ``HASH_PRIME`` (see ``window_hashes``); its key is 2 * hash + the continuation bit (the roots' keys are 0 and 1). ``keys`` -> ``values``
    is the LabelEncoder over all trie nodes. ``special_symbols``: the symbol standing for each
    added token, a one-symbol piece of its own (after the alphabet's)."""

    alphabet: dict[str, int]
    special_symbols: list[int]
    max_len: int
    weights: np.ndarray
    keys: list[int]
    values: list[int]


def _trie_levels(cont: np.ndarray, padded: np.ndarray, lengths: np.ndarray) -> list[tuple[np.ndarray, np.ndarray]]:
    """The trie of the pieces (continuation bit, symbols ``padded`` [P, L] of ``lengths`` [P]),
    level by level, exactly (by content, not hash): per depth d, the (parent node, symbol) of each
    node at that depth (parents numbered within depth d-1; at depth 1 the parent is the
    continuation bit), and each piece's node at that depth (-1 if shorter). Sorting instead of a
    dict of tuples keeps a quarter-million-piece vocabulary at a few hundred MB and seconds."""
    levels = []
    node = cont
    alphabet = int(padded.max(initial=0)) + 1
    for depth in range(padded.shape[1]):
        reaches = lengths > depth
        pairs, inverse = np.unique(node[reaches] * alphabet + padded[reaches, depth], return_inverse=True)
        node = np.full(len(cont), -1, np.int64)
        node[reaches] = inverse.reshape(-1)
        levels.append((pairs, node))
    return levels


def build_piece_tables(entries: list[Entry], special_ids: list[int], seed: int = 20240613) -> PieceTables:
    """Tables for ``entries`` plus one single-symbol piece per added token id in ``special_ids``
    (an entry repeated with the same continuation bit and text: the last one's id)."""
    alphabet = {ch: i + 1 for i, ch in enumerate(sorted({ch for e in entries for ch in e.text}))}
    specials = [len(alphabet) + 1 + t for t in range(len(special_ids))]
    texts = [e.text for e in entries]
    cont = np.array([int(e.continuation) for e in entries] + [0] * len(specials), np.int64)
    tokens = np.array([e.token_id for e in entries] + list(special_ids), np.int64)
    lengths = np.array([len(t) for t in texts] + [1] * len(specials), np.int64)
    max_len = int(lengths.max(initial=1))
    if len(tokens) and int(tokens.max()) + 1 >= 1 << TOKEN_BITS:
        raise UnsupportedModelError(f"the exact WordPiece graph cannot hold a token id of 2**{TOKEN_BITS} or more", BERT_OP_FIX)
    if len(alphabet) + len(specials) >= MAX_SYMBOL:
        raise UnsupportedModelError(f"the exact graph cannot hold an alphabet of {MAX_SYMBOL} symbols or more", BERT_OP_FIX)
    padded = np.zeros((len(tokens), max_len), np.int64)  # [P, L] symbols, 0-padded
    flat = np.array([alphabet[ch] for t in texts for ch in t] + specials, np.int64)
    starts = np.repeat(np.cumsum(lengths) - lengths, lengths)
    padded[np.repeat(np.arange(len(tokens)), lengths), np.arange(len(flat)) - starts] = flat
    levels = _trie_levels(cont, padded, lengths)
    width = int(padded.max(initial=0)) + 1
    rng = np.random.default_rng(seed)
    for _ in range(100):
        weights = rng.integers(1, HASH_PRIME, size=max_len, dtype=np.int64)
        hashes, keys, parents = [np.zeros(0, np.int64)], [], []
        for depth, (pairs, _) in enumerate(levels):
            parent, symbol = pairs // width, pairs % width
            node_cont = parent if depth == 0 else keys[-1][parent] % 2  # a node's continuation bit is its root's
            hashed = ((hashes[-1][parent] if depth else 0) + symbol * weights[depth] % HASH_PRIME) % HASH_PRIME
            parents.append(node_cont if depth == 0 else keys[-1][parent])
            keys.append(2 * hashed + node_cont)
            hashes.append(hashed)
        all_keys = np.concatenate(keys)
        if len(np.unique(all_keys)) == len(all_keys):  # two trie nodes never share a key
            break
    else:  # pragma: no cover - with p ~ 2**39, 100 colliding draws do not happen below ~10**7 nodes
        raise RuntimeError("could not find collision-free hash weights")
    node_tokens = [np.full(len(pairs), -1, np.int64) for pairs, _ in levels]
    for depth, (_, node) in enumerate(levels):
        ends = np.flatnonzero(lengths == depth + 1)[::-1]  # last entries first: np.unique keeps the first
        _, last = np.unique(node[ends], return_index=True)
        node_tokens[depth][node[ends[last]]] = tokens[ends[last]]
    values = ((np.concatenate(node_tokens) + 1) << KEY_BITS) | np.concatenate(parents)
    return PieceTables(alphabet, specials, max_len, weights, all_keys.tolist(), values.tolist())


def window_hashes(g: GraphBuilder, window: str, p: PieceTables) -> str:
    """[M, L]: the hash of every prefix of every window [M, L] of symbols, as the tables key them.

    A verified node spells its window exactly: its last symbol s' satisfies w * (s - s') = 0 mod p
    with w != 0 and |s - s'| < p, so s = s' (boundaries and padding, negative symbols, included).
    """
    terms = g.op("Mod", g.op("Mul", window, g.const(p.weights[None, :], "hash_weights")), g.scalar(HASH_PRIME))
    return g.op("Mod", g.op("CumSum", terms, g.scalar(1)), g.scalar(HASH_PRIME))
