"""Input classes of a text (scripts, emoji, control characters, length) for per-class parity reports.

Why: a tokenizer that is right on English can be wrong on Cyrillic capitals or Hangul; counting
mismatches per class shows where, and lets a user judge whether their own data is affected.
Classes come from Unicode character names and categories, so they need no tables of our own.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

ASCII = "ascii"
LATIN_ACCENTS = "latin-accents"
CYRILLIC = "cyrillic"
GREEK = "greek"
ARMENIAN = "armenian"
GEORGIAN = "georgian"
CJK = "cjk"
ARABIC_HEBREW = "arabic-hebrew"
INDIC = "indic"
THAI = "thai"
OTHER_SCRIPT = "other-script"
SYMBOLS = "symbols"
EMOJI = "emoji"
CONTROL_WHITESPACE = "control-whitespace"
EMPTY_BLANK = "empty-blank"
LONG = "long"

CLASSES = (ASCII, LATIN_ACCENTS, CYRILLIC, GREEK, ARMENIAN, GEORGIAN, CJK, ARABIC_HEBREW, INDIC, THAI,
           OTHER_SCRIPT, SYMBOLS, EMOJI, CONTROL_WHITESPACE, EMPTY_BLANK, LONG)
"""Every class ``classify`` can return, in the order it returns them."""

# First word of a character's Unicode name -> class ("COMBINING" marks are mostly Latin accents).
_NAME_PREFIXES = {
    "LATIN": LATIN_ACCENTS, "COMBINING": LATIN_ACCENTS,
    "CYRILLIC": CYRILLIC, "GREEK": GREEK, "ARMENIAN": ARMENIAN, "GEORGIAN": GEORGIAN,
    "CJK": CJK, "HIRAGANA": CJK, "KATAKANA": CJK, "HANGUL": CJK, "BOPOMOFO": CJK, "IDEOGRAPHIC": CJK,
    "FULLWIDTH": CJK, "HALFWIDTH": CJK,
    "ARABIC": ARABIC_HEBREW, "HEBREW": ARABIC_HEBREW,
    "DEVANAGARI": INDIC, "BENGALI": INDIC, "GURMUKHI": INDIC, "GUJARATI": INDIC, "ORIYA": INDIC,
    "TAMIL": INDIC, "TELUGU": INDIC, "KANNADA": INDIC, "MALAYALAM": INDIC, "SINHALA": INDIC,
    "THAI": THAI,
    "VARIATION": EMOJI,  # variation selectors mostly pick the emoji presentation
}
_EMOJI_RANGES = ((0x1F000, 0x1FAFF), (0x2600, 0x27BF))  # pictographs, flags, skin tones; symbols, dingbats
_INVISIBLE_CATEGORIES = frozenset({"Cc", "Cf", "Co", "Cn", "Cs", "Zl", "Zp"})


@lru_cache(maxsize=65536)
def char_class(ch: str) -> str | None:
    """The class one character adds to a text, or None for printable ASCII (and the plain space)."""
    category = unicodedata.category(ch)
    if category in _INVISIBLE_CATEGORIES or (category == "Zs" and ch != " "):
        return CONTROL_WHITESPACE
    if ch.isascii():
        return None
    if any(low <= ord(ch) <= high for low, high in _EMOJI_RANGES):
        return EMOJI
    prefix = re.split(r"[ -]", unicodedata.name(ch, ""), maxsplit=1)[0]
    if prefix in _NAME_PREFIXES:
        return _NAME_PREFIXES[prefix]
    return OTHER_SCRIPT if category[0] in "LM" else SYMBOLS


def classify(text: str, *, over_max_tokens: bool = False) -> tuple[str, ...]:
    """The classes ``text`` belongs to, in ``CLASSES`` order.

    ``over_max_tokens`` adds "long": only a tokenizer knows whether a text exceeds the model's
    maximum length, so the caller says so.
    """
    found = {char_class(ch) for ch in set(text)}
    if not text.strip():
        found.add(EMPTY_BLANK)
    elif text.isascii():
        found.add(ASCII)
    if over_max_tokens:
        found.add(LONG)
    return tuple(name for name in CLASSES if name in found)
