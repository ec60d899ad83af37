"""What the model's own normalizer and pre-tokenizer do to every code point, asked of the library.

Every code point 0..0x10FFFF (surrogates excluded: they cannot occur in UTF-8 text) is run
through the ``tokenizers`` library itself, so the graph inherits that library's Unicode version
and quirks; Python's ``unicodedata`` is never the source of truth (it lags or leads the library on
newer code points). About two seconds for the whole range, paid once per process for each
normalizer and pre-tokenizer setting.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from embedpipe.errors import UnsupportedModelError
from embedpipe_tokenizers.toolkit.spec import BERT_OP_FIX
from tokenizers import Tokenizer

# Pre-tokenizer classes of a character.
WORD, ISOLATED, SPACE = 1, 2, 3
CODE_POINTS = 0x110000

# Batch separator for normalizing many strings in one call: a starter (combining class 0, by
# Unicode's stability policy), so no canonical reordering can cross it. Each batch is checked.
_SEPARATORS = ("\u3007", "\u2e3b", "\U0001f300")
_CHUNK = 8192


def _code_array(text: str) -> np.ndarray:
    return np.frombuffer(text.encode("utf-32-le"), dtype=np.uint32).astype(np.int64)


def _interleave(text: str, sep: str) -> str:
    """sep + text[0] + sep + text[1] + ... + sep, without a Python loop."""
    codes = np.full(2 * len(text) + 1, ord(sep), np.uint32)
    codes[1::2] = _code_array(text)
    return codes.tobytes().decode("utf-32-le")


def normalize_many(normalize: Callable[[str], str], strings: Sequence[str]) -> list[str]:
    """``normalize`` of each string alone, many strings per call (``strings`` may be one str:
    then each of its characters)."""
    sep = next((s for s in _SEPARATORS if normalize(s) == s and unicodedata.combining(s) == 0), None)
    if sep is None:
        return [normalize(s) for s in strings]
    out: list[str] = []
    for start in range(0, len(strings), _CHUNK):
        chunk = strings[start : start + _CHUNK]
        joined = _interleave(chunk, sep) if isinstance(chunk, str) else sep + sep.join(chunk) + sep
        parts = normalize(joined).split(sep)
        # The separator survives as itself, so the count is exact unless some output contains it:
        # then that chunk is done one string at a time.
        if len(parts) != len(chunk) + 2:
            parts = ["", *map(normalize, chunk), ""]
        out.extend(parts[1:-1])
    return out


def pretokenizer_classes(tokenizer: Tokenizer, text: str) -> np.ndarray:
    """The pre-tokenizer's class of every code point: ISOLATED (split off alone, punctuation),
    SPACE (removed, whitespace) or WORD.

    Each character is placed between two 'a's: a piece of its own means isolated, no piece at
    all means removed.
    """
    pre = tokenizer.pre_tokenizer
    if [p for p, _ in pre.pre_tokenize_str("aa")] != ["aa"]:
        raise UnsupportedModelError("the exact WordPiece graph cannot reproduce a pre-tokenizer that splits 'aa'", BERT_OP_FIX)
    classes = np.full(CODE_POINTS, WORD, np.int64)
    for start in range(0, len(text), _CHUNK):
        chunk = text[start : start + _CHUNK]
        spans = np.array([span for _, span in pre.pre_tokenize_str(_interleave(chunk, "a"))], np.int64).reshape(-1, 2)
        cover = np.zeros(2 * len(chunk) + 2, np.int64)
        np.add.at(cover, spans[:, 0], 1)
        np.add.at(cover, spans[:, 1], -1)
        covered = np.cumsum(cover)[1:-1:2] > 0  # odd positions hold the chunk's characters
        codes = _code_array(chunk)
        classes[codes[~covered]] = SPACE
        alone = spans[(spans[:, 1] - spans[:, 0] == 1) & (spans[:, 0] % 2 == 1), 0] // 2
        classes[codes[alone]] = ISOLATED
    return classes


@dataclass(frozen=True)
class Normalized:
    """Each code point's normalized characters (``chars`` [n, K], -1 past the end) and the
    pre-tokenizer class of every code point."""

    cps: np.ndarray
    chars: np.ndarray
    classes: np.ndarray

    def producible(self) -> tuple[np.ndarray, np.ndarray]:
        """Masks over code points: can stand in a word of several characters; can stand alone."""
        produced = np.zeros(CODE_POINTS, bool)
        produced[self.chars[self.chars >= 0]] = True
        return produced & (self.classes == WORD), produced & (self.classes == ISOLATED)

    def output(self, cp: int) -> str:
        row = self.chars[np.searchsorted(self.cps, cp)]
        return "".join(chr(c) for c in row if c >= 0)


def normalize_all(tokenizer: Tokenizer) -> Normalized:
    """Every code point through ``tokenizer``'s normalizer and pre-tokenizer.

    The answer depends on their settings alone, so it is worked out once per process for each
    setting: a process that converts several models of one family (BERT uncased models share
    one), or one model at several options, sweeps the code points once.
    """
    return _normalize_all(_settings(tokenizer.normalizer), _settings(tokenizer.pre_tokenizer))


def _settings(component: object | None) -> str:
    """A normalizer's or pre-tokenizer's settings as the library serializes them ("null": none)."""
    return "null" if component is None else component.__getstate__().decode()  # type: ignore[attr-defined]


@lru_cache(maxsize=4)  # a setting's tables take tens of MB
def _normalize_all(normalizer: str, pre_tokenizer: str) -> Normalized:
    tokenizer = Tokenizer.from_str(
        '{"version":"1.0","model":{"type":"WordLevel","vocab":{},"unk_token":"[UNK]"},'
        f'"normalizer":{normalizer},"pre_tokenizer":{pre_tokenizer}}}'
    )
    cps = np.array([cp for cp in range(CODE_POINTS) if not 0xD800 <= cp <= 0xDFFF], np.int64)
    text = "".join(map(chr, cps.tolist()))
    outputs = list(text) if tokenizer.normalizer is None else normalize_many(tokenizer.normalizer.normalize_str, text)
    lengths = np.fromiter(map(len, outputs), np.int64, len(outputs))
    flat = _code_array("".join(outputs))
    chars = np.full((len(cps), max(1, int(lengths.max()))), -1, np.int64)
    column = np.arange(len(flat)) - np.repeat(np.cumsum(lengths) - lengths, lengths)
    chars[np.repeat(np.arange(len(cps)), lengths), column] = flat
    classes = pretokenizer_classes(tokenizer, text)
    for shared in (cps, chars, classes):  # one copy serves every later caller
        shared.flags.writeable = False
    return Normalized(cps, chars, classes)


def check_context_free(tokenizer: Tokenizer, norm: Normalized, alphabet: Iterable[str]) -> None:
    """Refuse models where normalizing character by character could change a token.

    NFD (used when accents are stripped) reorders adjacent combining marks by combining class;
    character-wise tables cannot follow that. It only matters when two characters that survive
    normalization, both with a non-zero combining class, both occur in the vocabulary: otherwise
    a word holding them becomes [UNK] either way. Candidates are taken generously (any mark or
    combining class per Python, or unassigned in Python's Unicode), then decided by the library.
    """
    if tokenizer.normalizer is None:
        return
    marks = [ch for ch in alphabet if unicodedata.combining(ch) != 0 or unicodedata.category(ch) in ("Cn", "Mc", "Mn", "Me")]
    pairs = [a + b for a in marks for b in marks]
    for pair, together in zip(pairs, normalize_many(tokenizer.normalizer.normalize_str, pairs)):
        a, b = pair
        if together != norm.output(ord(a)) + norm.output(ord(b)):
            raise UnsupportedModelError(
                f"normalizing U+{ord(a):04X} U+{ord(b):04X} together differs from one by one "
                "(canonical reordering), and both are in the vocabulary",
                BERT_OP_FIX,
            )
