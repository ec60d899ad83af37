"""What the library's ByteLevel regex and added-token stripping make of every code point.

The GPT-2 regex (``'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+``)
only asks which of four classes a character is in: letter, number, whitespace or other. Each code
point's class is asked of the library's own pre-tokenizer (so the graph inherits its regex engine's
Unicode version): Python's guess is confirmed a long run at a time (a run the regex takes as one
match is all of one class), and what it gets wrong is probed by whether the character stays joined
to a letter, a digit, "!" or a tab. The
whitespace an added token's lstrip/rstrip absorbs is asked of the library the same way.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache

import numpy as np
from tokenizers import AddedToken, Tokenizer, models, pre_tokenizers

from embedpipe_tokenizers.bpe.spec import unsupported
from embedpipe_tokenizers.toolkit.library import CODE_POINTS, _code_array

LETTER, NUMBER, OTHER, SPACE = 1, 2, 3, 4  # 0: an added token in the element stream
_PROBES = ((LETTER, "a"), (NUMBER, "1"), (OTHER, "!"), (SPACE, "\t"))
_CHUNK = 8192
_SMALL_RUN = 64  # runs this short are probed character by character


def _joined(lead: str, text: str) -> np.ndarray:
    """For each character c of ``text``: whether ``lead + c`` stays one regex match (each probe
    followed by a newline, which always ends a match before the next lead)."""
    regex = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)
    out = np.zeros(len(text), bool)
    for start in range(0, len(text), _CHUNK):
        chunk = text[start : start + _CHUNK]
        starts = np.array([s for _, (s, _) in regex.pre_tokenize_str(_lead_each(chunk, lead))], np.int64)
        joined = np.ones(len(chunk), bool)
        joined[starts[starts % 3 == 1] // 3] = False
        out[start : start + len(chunk)] = joined
    return out


def _lead_each(chunk: str, lead: str) -> str:
    codes = np.empty((len(chunk), 3), np.uint32)
    codes[:, 0], codes[:, 1], codes[:, 2] = ord(lead), _code_array(chunk), ord("\n")
    return codes.tobytes().decode("utf-32-le")


def _probed_classes(cps: np.ndarray) -> np.ndarray:
    """The regex class of each code point in ``cps``, asked one character at a time (after each
    probe); exactly one probe must join it."""
    text = "".join(map(chr, cps.tolist()))
    joined = np.stack([_joined(lead, text) for _, lead in _PROBES])
    if not (joined.sum(axis=0) == 1).all():
        bad = int(cps[np.flatnonzero(joined.sum(axis=0) != 1)[0]])
        raise unsupported(f"this tokenizers version's ByteLevel regex, which puts U+{bad:04X} in no single class")
    return np.array([cls for cls, _ in _PROBES])[joined.argmax(axis=0)]


def _guess(cp: int) -> int:
    """Python's Unicode database's idea of a code point's regex class: only a guess to group by."""
    ch = chr(cp)
    if ch.isspace():
        return SPACE
    category = unicodedata.category(ch)
    return LETTER if category[0] == "L" else NUMBER if category[0] == "N" else OTHER


def _one_match(cls: int, cps: np.ndarray) -> bool:
    """Whether the regex takes the class's probe followed by all of ``cps`` as one match: then every
    one of them is in that class (a character of another class would start a match of its own)."""
    lead = dict(_PROBES)[cls]
    regex = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)
    return len(regex.pre_tokenize_str(lead + "".join(map(chr, cps.tolist())))) == 1


def _confirmed(cls: int, cps: np.ndarray) -> np.ndarray:
    """The classes of ``cps``, all guessed ``cls``: confirmed by the library a whole run at a time,
    halving a run it splits; small runs are probed character by character."""
    if len(cps) <= _SMALL_RUN:
        return _probed_classes(cps)
    if _one_match(cls, cps):
        return np.full(len(cps), cls)
    half = len(cps) // 2
    return np.concatenate([_confirmed(cls, cps[:half]), _confirmed(cls, cps[half:])])


def regex_classes(cps: np.ndarray) -> np.ndarray:
    """The regex class of each code point in ``cps``, as the library's regex engine has it.

    Python's Unicode database gives a guess per code point; the library then confirms each guessed
    class over long runs at once (a run the regex takes as one match is all of one class), so only
    the few code points the guess gets wrong are probed one by one: about 1 s instead of 15 s.
    """
    guessed = np.fromiter(map(_guess, cps.tolist()), np.int64, len(cps))
    out = np.empty(len(cps), np.int64)
    for cls, _ in _PROBES:
        where = np.flatnonzero(guessed == cls)
        for start in range(0, len(where), _CHUNK * 8):
            part = where[start : start + _CHUNK * 8]
            out[part] = _confirmed(cls, cps[part])
    return out


def strip_whitespace(candidates: Sequence[str]) -> set[str]:
    """The candidates an added token with lstrip absorbs, asked of the library."""
    probe = Tokenizer(models.WordLevel({"?": 0}, unk_token="?"))
    probe.add_special_tokens([AddedToken("<x>", lstrip=True, special=True)])
    return {c for c, e in zip(candidates, probe.encode_batch([c + "<x>" for c in candidates])) if e.ids == [1]}


@dataclass(frozen=True)
class CharTable:
    """One LabelEncoder from a character to ``cp * scale + info``: info is the regex class, 8 when
    lstrip/rstrip absorb it, plus 16 * its index in the added tokens' alphabet (0: in none)."""

    keys: list[str]
    values: np.ndarray
    scale: int


@cache
def _library_classes() -> tuple[np.ndarray, np.ndarray]:
    """Every scalar value, and its class plus 8 where lstrip/rstrip absorb it (the same for every
    model of one tokenizers version, so asked once per process: about 20 s of CPU)."""
    cps = np.array([cp for cp in range(CODE_POINTS) if not 0xD800 <= cp <= 0xDFFF], np.int64)
    classes = regex_classes(cps)
    candidates = sorted({chr(cp) for cp in cps[classes == SPACE].tolist()} | {c for c in map(chr, range(0x3000)) if c.isspace()})
    strip = np.zeros(CODE_POINTS, np.int64)
    strip[[ord(c) for c in strip_whitespace(candidates)]] = 8
    return cps, classes + strip[cps]


def build_char_table(special_chars: dict[str, int]) -> CharTable:
    cps, info = _library_classes()
    special = np.zeros(CODE_POINTS, np.int64)
    special[[ord(ch) for ch in special_chars]] = list(special_chars.values())
    scale = 16 * (len(special_chars) + 1)
    values = cps * scale + info + 16 * special[cps]
    return CharTable(list(map(chr, cps.tolist())), values, scale)
