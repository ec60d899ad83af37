"""The built-in validation set: short, hard strings every export is checked on.

Each entry is chosen to break a converter that is not faithful: accents (stripped or kept),
capitals outside ASCII, CJK splitting, emoji and ZWJ sequences, control and odd whitespace,
special tokens typed as text, code, the empty string, and documents far past any model's
maximum sequence length (truncation must keep the final separator token).
"""

from __future__ import annotations

_PARAGRAPH = (
    "The quick brown fox jumps over the lazy dog. Zwölf Boxkämpfer jagen Viktor quer über den "
    "großen Sylter Deich. Voix ambiguë d'un cœur qui, au zéphyr, préfère les jattes de kiwis. "
    "Съешь же ещё этих мягких французских булок, да выпей чаю. 敏捷的棕色狐狸跳过了懒狗。 "
)

SAMPLES: tuple[str, ...] = (
    "hello world",
    "How do I reset my password?",
    "Oracle Database 23ai stores vectors next to relational data.",
    "naïve café résumé",
    "NAÏVE CAFÉ RÉSUMÉ",
    "Crème brûlée à la façon de Noël",
    "Zürich ÖSTERREICH Ærøskøbing Łódź",
    "İstanbul'da bir gün",
    "Январь ФЕВРАЛЬ март",
    "Ελληνικά ΚΕΦΑΛΑΙΑ και μικρά",
    "Հայաստան ԵՐԵՎԱՆ",
    "ქართული ენა",
    "北京欢迎你 東京タワー 서울특별시",
    "日本語の文章と English mixed 一起",
    "مرحبا بالعالم",
    "שלום עולם",
    "नमस्ते दुनिया",
    "สวัสดีชาวโลก",
    "Tiếng Việt có dấu: Hà Nội, Đà Nẵng",
    "emoji 😀🎉 and family 👨‍👩‍👧‍👦 and flag 🇫🇷",
    "tabs\tand\nnewlines\r\nand\u00a0nbsp\u2003em-space",
    "zero\u200bwidth\u200dspace and soft\u00adhyphen",
    "control \x00 nul \x07 bell \x1b escape \ufffd replacement",
    "[CLS] typed special tokens [SEP] and [MASK] inside",
    "<s> angle specials </s> <mask>",
    "def f(x): return {'a': [1, 2, 3]} # code",
    "SELECT VECTOR_EMBEDDING(MODEL USING :t AS DATA) FROM dual;",
    "e-mail: someone@example.com, url https://example.org/a?b=c&d=e",
    "numbers 3.14159 1,000,000 2026-11-23 12:30",
    "punctuation!!! ... ??? «quotes» „Anführung“ — dashes – ‘single’",
    "ＦＵＬＬＷＩＤＴＨ ｌｅｔｔｅｒｓ and ﬁ ligature ½ ² ℌ",
    "Combining: e\u0301 a\u0308 o\u0302\u0323",
    "x" * 300,
    "supercalifragilisticexpialidociousantidisestablishmentarianism",
    "",
    " ",
    "   \t\n  ",
    (_PARAGRAPH * 60).strip(),  # about 20,000 characters
    " ".join(["word"] * 3000),
)
