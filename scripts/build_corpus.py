"""Build tests/data/real_text.txt: real multilingual text found on this machine, one text per line.

Why: token-id parity must be measured on text people actually write (accents, many scripts,
code, long documents), not only on strings we invent. The output is deterministic (sorted
file lists, seeded sampling, first occurrence wins on duplicates) so it can be rebuilt and
diffed. Origin kinds, in output order:

  licence   /usr/share/common-licenses: sentences, and paragraphs joined into long lines
  locale    glibc locale sources: titles, country/language names, month and day names
  gettext   translated program messages and country names (.mo catalogs), ~190 languages
  doc       /usr/share/doc copyright files (many authors' names carry accents)
  code      Python standard library source lines (indentation kept)
  timezone  tzdb zone and country tables (tab-separated)
  emoji     rich's emoji name table, several "name emoji" pairs per line

Run with the project venv (rich provides the emoji table):
    .venv/bin/python scripts/build_corpus.py [output]
"""

from __future__ import annotations

import random
import re
import struct
import sys
from collections.abc import Iterable, Iterator
from pathlib import Path

SEED = 20240611
MAX_BYTES = 600_000
OUTPUT = Path(__file__).resolve().parent.parent / "tests" / "data" / "real_text.txt"

LICENCES = Path("/usr/share/common-licenses")
LOCALES = Path("/usr/share/i18n/locales")
GETTEXT = Path("/usr/share/locale")
DOCS = Path("/usr/share/doc")
ZONEINFO = Path("/usr/share/zoneinfo")
STDLIB = Path(sys.base_prefix) / "lib" / f"python{sys.version_info.major}.{sys.version_info.minor}"

LOCALE_KEYS = ("title", "country_name", "lang_name", "mon", "day", "alt_mon", "abmon")
MESSAGE_DOMAINS = ("coreutils", "glib20", "gtk20", "Linux-PAM", "xdg-user-dirs", "shared-mime-info",
                   "PackageKit", "gdk-pixbuf", "software-properties", "at-spi2-core", "iso_639")
COUNTRY_DOMAIN = "iso_3166-1"


def sample(rng: random.Random, items: Iterable[str], k: int) -> list[str]:
    """A seeded sample of up to k distinct items, in the order they were given."""
    pool = list(dict.fromkeys(items))
    if len(pool) <= k:
        return pool
    keep = set(rng.sample(range(len(pool)), k))
    return [item for i, item in enumerate(pool) if i in keep]


def paragraphs(text: str) -> list[str]:
    """Blank-line separated paragraphs, each re-wrapped onto one line."""
    return [" ".join(line.strip() for line in block.splitlines()).strip()
            for block in re.split(r"\n\s*\n", text) if block.strip()]


def licence_texts(rng: random.Random) -> Iterator[str]:
    """Sentences of every licence, plus runs of paragraphs joined into lines of 3,000+ characters."""
    sentences: list[str] = []
    for path in sorted(LICENCES.iterdir()):
        if not path.is_file() or path.is_symlink():
            continue
        paras = paragraphs(path.read_text(encoding="utf-8", errors="replace"))
        sentences += [s for p in paras for s in re.split(r"(?<=[.;:])\s+", p) if 20 <= len(s) <= 400]
        run: list[str] = []
        for para in paras:
            run.append(para)
            if sum(map(len, run)) >= 3000:
                yield " ".join(run)[:9000]
                run = []
    yield from sample(rng, sentences, 280)


def locale_values(text: str) -> Iterator[str]:
    """Decoded values of the wanted keywords of one glibc locale source."""
    escape = re.search(r"^escape_char\s+(\S)", text, re.M)
    esc = escape.group(1) if escape else "\\"
    text = re.sub(re.escape(esc) + r"\n", "", text)  # continuation lines
    for line in text.splitlines():
        key, _, value = line.strip().partition(" ")
        if key in LOCALE_KEYS and '"' in value:
            parts = [re.sub(r"<U([0-9A-Fa-f]{4,8})>", lambda m: chr(int(m.group(1), 16)), s)
                     for s in re.findall(r'"([^"]*)"', value)]
            yield " ".join(p for p in parts if p)


def locale_texts(_rng: random.Random) -> Iterator[str]:
    """One line per locale and keyword: e.g. all twelve month names of hy_AM in Armenian script."""
    for path in sorted(LOCALES.iterdir()):
        if path.is_file():
            yield from locale_values(path.read_text(encoding="utf-8", errors="replace"))


def mo_messages(path: Path) -> list[str]:
    """Translated strings of a GNU .mo catalog (first plural form), read from its binary layout."""
    data = path.read_bytes()
    endian = "<" if struct.unpack("<I", data[:4])[0] == 0x950412DE else ">"
    count, originals, translations = struct.unpack(endian + "3I", data[8:20])
    out = []
    for i in range(count):
        orig_len, _ = struct.unpack(endian + "2I", data[originals + 8 * i: originals + 8 * i + 8])
        length, offset = struct.unpack(endian + "2I", data[translations + 8 * i: translations + 8 * i + 8])
        if orig_len == 0:  # the catalog header
            continue
        try:
            out.append(data[offset: offset + length].split(b"\0")[0].decode("utf-8"))
        except UnicodeDecodeError:
            continue
    return out


def gettext_texts(rng: random.Random) -> Iterator[str]:
    """Per language: sampled message lines from several programs, and country names in groups of eight."""
    for lang_dir in sorted(p for p in GETTEXT.iterdir() if p.is_dir()):
        messages: list[str] = []
        for domain in MESSAGE_DOMAINS:
            catalog = lang_dir / "LC_MESSAGES" / f"{domain}.mo"
            if catalog.is_file():
                messages += [line.strip() for m in mo_messages(catalog) for line in m.splitlines()]
        yield from sample(rng, (m for m in messages if len(m) >= 4 and re.search(r"\w\w", m)), 9)
        countries = lang_dir / "LC_MESSAGES" / f"{COUNTRY_DOMAIN}.mo"
        if countries.is_file():
            names = mo_messages(countries)
            groups = [", ".join(names[i: i + 8]) for i in range(0, len(names), 8)]
            yield from sample(rng, groups, 2)


def doc_texts(rng: random.Random) -> Iterator[str]:
    """Lines of Debian copyright files, half of them with non-ASCII characters (authors' names)."""
    lines: list[str] = []
    for path in sorted(DOCS.glob("*/copyright")):
        if path.is_file():
            lines += [s.strip() for s in path.read_text(encoding="utf-8", errors="ignore").splitlines()]
    lines = [s for s in lines if 20 <= len(s) <= 300]
    yield from sample(rng, (s for s in lines if not s.isascii()), 150)
    yield from sample(rng, (s for s in lines if s.isascii()), 120)


def code_texts(rng: random.Random) -> Iterator[str]:
    """Source lines of the standard library's top-level modules, indentation kept."""
    lines: list[str] = []
    for path in sorted(STDLIB.glob("*.py")):
        lines += [s.rstrip() for s in path.read_text(encoding="utf-8", errors="ignore").splitlines()]
    yield from sample(rng, (s for s in lines if 12 <= len(s.strip()) <= 200), 220)


def timezone_texts(rng: random.Random) -> Iterator[str]:
    """Rows of the tzdb tables (tab-separated codes, coordinates, zone names, comments)."""
    rows: list[str] = []
    for name in ("iso3166.tab", "zone1970.tab"):
        path = ZONEINFO / name
        if path.is_file():
            rows += [s for s in path.read_text(encoding="utf-8").splitlines() if s and not s.startswith("#")]
    yield from sample(rng, rows, 110)


def emoji_texts(rng: random.Random) -> Iterator[str]:
    """Emoji with their names, five per line, including ZWJ sequences, flags and skin tones."""
    from rich._emoji_codes import EMOJI

    pairs = [f"{name.replace('_', ' ')} {char}" for name, char in sorted(EMOJI.items())]
    groups = [", ".join(pairs[i: i + 5]) for i in range(0, len(pairs), 5)]
    yield from sample(rng, groups, 90)


SOURCES = (licence_texts, locale_texts, gettext_texts, doc_texts, code_texts, timezone_texts, emoji_texts)


def build() -> list[str]:
    """All sources in a fixed order, each line cleaned of line breaks, first occurrence kept."""
    rng = random.Random(SEED)
    seen: dict[str, None] = {}
    for source in SOURCES:
        for text in source(rng):
            line = " ".join(text.splitlines()).rstrip()  # splitlines also breaks on \x85, \u2028, ...
            if line.strip():
                seen.setdefault(line)
    return list(seen)


def main() -> None:
    output = Path(sys.argv[1]) if len(sys.argv) > 1 else OUTPUT
    lines = build()
    data = "\n".join(lines) + "\n"
    if len(data.encode("utf-8")) > MAX_BYTES:
        raise SystemExit(f"corpus is {len(data.encode('utf-8')):,} bytes, over {MAX_BYTES:,}: sample less")
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(data, encoding="utf-8")
    print(f"{output}: {len(lines):,} lines, {len(data.encode('utf-8')):,} bytes")


if __name__ == "__main__":
    main()
