"""Added tokens ([CLS], [MASK], <mask>, <unk>, ...) typed in the text: checks and the matching sub-graph.

Hugging Face finds the tokens with ``normalized: false`` in the raw text first (leftmost-longest),
then normalizes the text between them and finds the ``normalized: true`` ones in that normalized
text, each spelled as the normalizer spells it (MPNet's ``<unk>`` also matches a typed "<UNK>");
only the rest is split into words. The graph compares every position with every token at once;
that equals the sequential scan only when two occurrences can never overlap, which
``check_added_tokens`` makes sure of at export time.

``lstrip``/``rstrip`` change no id in the WordPiece graph: the whitespace they absorb sits at the
edge of the neighbouring text, where the BERT normalizer and pre-tokenizer would drop it anyway
(``check_wordpiece_tokens`` refuses the combinations where absorbing it could change a match).
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

import numpy as np
from embedpipe.errors import UnsupportedModelError
from embedpipe_tokenizers.toolkit.graph import GraphBuilder
from embedpipe_tokenizers.toolkit.spec import BERT_OP_FIX, AddedToken
from onnx import TensorProto

SHIFT = 1 << 40  # a match packs as length * SHIFT + row; rows stay far below 2**40
CODE_BITS = 62  # chunk codes stay below 2**62


def _chunk_matrix(width: int, alphabet_size: int) -> np.ndarray:
    """[width, width, C]: [j, l, c] packs character j <= l into chunk c of the code of a window's
    first l+1 characters, a fixed number of bits each, so equal codes mean equal spellings."""
    bits = max(1, int(alphabet_size).bit_length())
    per_chunk = CODE_BITS // bits
    matrix = np.zeros((width, width, -(-width // per_chunk)), np.int64)
    for length in range(width):
        for j in range(length + 1):
            matrix[j, length, j // per_chunk] = 1 << (bits * (j % per_chunk))
    return matrix


@dataclass(frozen=True)
class SpecialTable:
    """``chars``: each character used by an added token, numbered from 1. A window of ``width``
    raw characters times ``matrix`` [width, T*C] gives, per token t, the C chunk codes of its
    first len(t) characters; ``codes`` [T*C] are the tokens' own. ``values`` [T]: what a match
    packs, length * SHIFT + the row (of the character table) that stands for the token."""

    chars: dict[str, int]
    width: int
    chunks: int
    matrix: np.ndarray
    codes: np.ndarray
    values: np.ndarray


def _can_overlap(a: str, b: str, padded: frozenset[str] = frozenset()) -> bool:
    """Whether an occurrence of ``b`` can start strictly inside an occurrence of ``a``. ``padded``:
    characters the normalizer always surrounds with spaces of their own (CJK), so the space after
    one of them cannot also be the space before another."""
    for k in range(1, len(a)):
        overlap = min(len(b), len(a) - k)
        if a[k : k + overlap] == b[:overlap]:
            own_spaces = k == len(a) - 1 and a[-1] == " " and a[-2] in padded and len(b) > 1 and b[1] in padded
            if not own_spaces:
                return True
    return False


def check_added_tokens(
    tokens: Sequence[AddedToken],
    *,
    graph: str = "the exact WordPiece graph",
    fix: str = BERT_OP_FIX,
    normalized_ok: bool = False,
    padded: frozenset[str] = frozenset(),
) -> None:
    """Refuse flag combinations ``graph`` does not reproduce, each with a one-line reason and ``fix``.
    ``normalized_ok``: the model has no normalizer, so normalized tokens match the raw text too (or,
    in the WordPiece graph, they are matched in the normalized text: their contents are normalized).
    ``padded``: see ``_can_overlap``."""
    for t in tokens:
        if t.normalized and not normalized_ok:
            raise UnsupportedModelError(f"added token {t.content!r} has normalized=true, which {graph} does not implement", fix)
        if t.single_word:
            raise UnsupportedModelError(f"added token {t.content!r} has single_word=true, which {graph} does not implement", fix)
    for a in tokens:
        for b in tokens:
            if _can_overlap(a.content, b.content, padded):
                raise UnsupportedModelError(
                    f"added tokens {a.content!r} and {b.content!r} can overlap in a text, which {graph} does not implement", fix
                )
    if any(t.rstrip for t in tokens) and any(t.content[0].isspace() for t in tokens):
        raise UnsupportedModelError(
            f"an added token starts with whitespace while another strips whitespace on its right, which {graph} does not implement",
            fix,
        )


def split_added_tokens(
    tokens: Sequence[AddedToken], normalize: Callable[[str], str] | None
) -> tuple[tuple[AddedToken, ...], tuple[AddedToken, ...]]:
    """The tokens matched in the raw text, and the normalized ones with their content as Hugging
    Face matches it in the normalized text (the model's normalizer applied to it)."""
    raw = tuple(t for t in tokens if not t.normalized)
    normalized = tuple(replace(t, content=normalize(t.content)) if normalize else t for t in tokens if t.normalized)
    return raw, normalized


def check_wordpiece_tokens(raw: Sequence[AddedToken], normalized: Sequence[AddedToken], padded: frozenset[str]) -> None:
    """Refuse what the WordPiece graph's two matching passes (``split_added_tokens``) cannot
    reproduce, each with a one-line reason. ``normalized`` holds the normalized contents;
    ``padded``: the characters the normalizer surrounds with spaces."""
    check_added_tokens(raw)
    for t in normalized:
        if not t.content:
            raise UnsupportedModelError(
                f"added token {t.id} normalizes to an empty string, which Hugging Face matches between every two characters",
                BERT_OP_FIX,
            )
        if any(unicodedata.combining(ch) for ch in t.content):
            raise UnsupportedModelError(
                f"added token {t.content!r} normalizes to combining marks, which canonical reordering can move across its edges",
                BERT_OP_FIX,
            )
    check_added_tokens(normalized, normalized_ok=True, padded=padded)
    # Whitespace absorbed by lstrip/rstrip stays in the graph's text; it must not complete a match.
    if any(t.rstrip for t in (*raw, *normalized)) and any(t.content[0].isspace() for t in (*raw, *normalized)):
        raise UnsupportedModelError(
            "an added token starts with whitespace (after normalization) while another strips whitespace on its right, "
            "which the exact WordPiece graph does not implement",
            BERT_OP_FIX,
        )
    if any(t.lstrip for t in raw) and any(t.content[-1].isspace() for t in normalized):
        raise UnsupportedModelError(
            "a normalized added token ends with whitespace while another strips whitespace on its left, "
            "which the exact WordPiece graph does not implement",
            BERT_OP_FIX,
        )


def special_table(tokens: Sequence[AddedToken], chars: dict[str, int], first_row: int) -> SpecialTable:
    """Tokens spelled in ``chars`` (each character used by a token, numbered from 1); token t is
    replaced by row ``first_row + t``."""
    width = max(len(t.content) for t in tokens)
    windows = _chunk_matrix(width, len(chars))
    chunks = windows.shape[2]
    matrix = np.zeros((width, len(tokens), chunks), np.int64)
    codes = np.zeros((len(tokens), chunks), np.int64)
    for t, token in enumerate(tokens):
        matrix[:, t, :] = windows[:, len(token.content) - 1, :]
        codes[t] = np.array([chars[ch] for ch in token.content]) @ windows[: len(token.content), len(token.content) - 1, :]
    values = np.array([len(token.content) * SHIFT + first_row + t for t, token in enumerate(tokens)], np.int64)
    return SpecialTable(chars, width, chunks, matrix.reshape(width, -1), codes.reshape(-1), values)


def match_specials(g: GraphBuilder, code: str, positions: str, table: SpecialTable) -> tuple[str, str]:
    """For raw characters spelled as ``code`` [N] (0: in no token): per position the row of the
    token starting there (0, the empty row, elsewhere), and whether the position lies inside a token."""
    width = table.width
    padded = g.concat([code, g.const(np.zeros(width), "pad")])
    column = g.unsqueeze(positions, 1)
    ahead = g.op("Add", column, g.const(np.arange(width)[None, :], "ahead"))
    found = g.op(
        "Equal",
        g.op("MatMul", g.take(padded, ahead, width), g.const(table.matrix, "special_matrix")),
        g.const(table.codes, "special_codes"),
    )  # [N, T*C]
    if table.chunks > 1:
        whole = g.op("Reshape", g.cast(found, TensorProto.INT32), g.const([-1, len(table.values), table.chunks], "shape"))
        found = g.op("Equal", g.reduce("ReduceMin", whole, 2), g.scalar(1, np.int32))
    # The longest token starting here wins (two tokens of one length cannot both match).
    packed = g.reduce("ReduceMax", g.where(found, g.const(table.values, "special_values"), g.scalar(0)), 1)
    length = g.op("Div", packed, g.scalar(SHIFT))
    row = g.op("Mod", packed, g.scalar(SHIFT))
    # Inside a token: some position d characters back starts a token longer than d.
    before = g.concat([g.const(np.zeros(width - 1), "pad"), length])
    back = g.op("Add", column, g.const(np.arange(width - 1, -1, -1)[None, :], "back"))
    reach = g.op("Sub", g.take(before, back, width), g.const(np.arange(width)[None, :], "dist"))
    inside = g.op("Greater", g.reduce("ReduceMax", reach, 1), g.scalar(0))
    return row, inside
