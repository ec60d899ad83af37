"""The Precompiled normalizer's rules, read from its charsmap and checked against the library.

A sentencepiece charsmap is a darts-clone double-array trie over UTF-8 keys followed by the
NUL-terminated replacement strings. Hugging Face applies it grapheme by grapheme (see
graphemes.py), so the graph needs every key, single characters and the multi-character ones
("A" + U+0301 -> "Á") alike; the library is then asked about every single-character key and
every multi-character key that fits in a short grapheme, so a misread blob cannot go unnoticed.
"""

from __future__ import annotations

import struct

from embedpipe.errors import UnsupportedModelError
from tokenizers import normalizers

from embedpipe_tokenizers.toolkit.library import normalize_many

SHORT_GRAPHEME_BYTES = 6  # the library looks a whole grapheme up only when it is shorter


def _complete(key: bytes) -> bool:
    """Whether ``key`` (valid UTF-8 so far) ends on a character boundary."""
    try:
        key.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _offset(unit: int) -> int:
    return (unit >> 10) << ((unit & (1 << 9)) >> 6)


_LEADS = [*range(1, 0x80), *range(0xC2, 0xF5)]
_CONTINUATIONS = list(range(0x80, 0xC0))


def read_charsmap(blob: bytes, max_bytes: int = SHORT_GRAPHEME_BYTES - 1) -> dict[str, str]:
    """Every key of at most ``max_bytes`` UTF-8 bytes with its replacement (deeper keys cannot be
    looked up: a single character has at most 4 bytes, a grapheme looked up as a whole at most 5)."""
    if len(blob) < 4:
        return {}
    size = struct.unpack("<I", blob[:4])[0]
    units = struct.unpack(f"<{size // 4}I", blob[4 : 4 + size])
    strings = blob[4 + size :]
    rules: dict[str, str] = {}
    stack = [(0, b"")]
    while stack:
        pos, key = stack.pop()
        unit = units[pos]
        base = pos ^ _offset(unit)
        if (unit >> 8) & 1:  # has a leaf: the key ends here
            start = units[base] & ((1 << 31) - 1)
            rules[key.decode("utf-8")] = strings[start : strings.index(b"\0", start)].decode("utf-8")
        if len(key) == max_bytes:
            continue
        complete = not key or key[-1] < 0x80 or _complete(key)
        for byte in _LEADS if complete else _CONTINUATIONS:
            child = base ^ byte
            if child < len(units) and units[child] & ((1 << 31) | 0xFF) == byte:
                stack.append((child, key + bytes([byte])))
    return rules


def usable_rules(blob: bytes) -> dict[str, str]:
    """The rules the library can apply: single characters, and keys shorter than a short grapheme
    (longer ones are never looked up), each confirmed by the library's own normalizer."""
    rules = read_charsmap(blob)
    library = normalizers.Precompiled(blob)
    singles = [k for k in rules if len(k) == 1]
    for key, got in zip(singles, normalize_many(library.normalize_str, "".join(singles))):
        if got != rules[key]:
            raise UnsupportedModelError(
                f"the precompiled charsmap reads U+{ord(key):04X} as {rules[key]!r} but the library gives {got!r}",
                "report this model to the embedpipe maintainers",
            )
    return rules
