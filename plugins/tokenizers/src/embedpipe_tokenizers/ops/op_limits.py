"""What the BPE and SentencePiece extension ops cannot reproduce, declared per input class with the
rates measured against Hugging Face (tests/tokenizers/test_*_op*.py, docs/tokenizers.md).

Validation forgives a differing line only when it falls in a declared class, and reports it.
"""

from __future__ import annotations

import itertools
import re
import unicodedata

from embedpipe import contract
from embedpipe.components import Limitation, TokenizerOptions
from embedpipe.errors import UnsupportedModelError


def refuse_what_ops_cannot(options: TokenizerOptions, op: str) -> None:
    """Refuse the options an extension-op stage cannot keep: the portable profile (no extension op),
    a prompt: it cannot go before the text, as no op Oracle accepts joins strings, and the op's
    ids of the prompt and of the text are not those of the joined text (the split depends on both)."""
    if options.op_profile == contract.PORTABLE_PROFILE:
        raise UnsupportedModelError(
            f"the {op} op stage uses an onnxruntime-extensions op, which the {contract.PORTABLE_PROFILE} op profile excludes",
            f"use an exact tokenizer (the default) with op_profile='{contract.PORTABLE_PROFILE}', "
            f"or op_profile='{contract.ORACLE_PROFILE}' for the op stage",
        )
    if options.prefix:
        raise UnsupportedModelError(
            f"the {op} op stage cannot put the prompt {options.prefix!r} before the text",
            "convert without a prompt and prepend it to every text in SQL, or use an exact tokenizer plugin",
        )


def _nul(text: str) -> bool:
    return "\x00" in text


# Added tokens as the families spell them: <s> </s> <pad> <unk> <mask>, <|endoftext|>, <extra_id_0>.
_SPECIAL_TOKEN = re.compile(r"<(?:/?s|pad|unk|mask|extra_id_\d+)>|<\|[^|<>]+\|>")


def _special_token_text(text: str) -> bool:
    return _SPECIAL_TOKEN.search(text) is not None


def _mark_after_changed_character(text: str) -> bool:
    """A combining mark after another mark, or after a character NFKC rewrites ("o\u0302\u0323", "ʰ\u05b0")."""
    return any(
        unicodedata.category(mark)[0] == "M"
        and (unicodedata.category(before)[0] == "M" or unicodedata.normalize("NFKC", before) != before)
        for before, mark in itertools.pairwise(text)
    )


def _next_line(text: str) -> bool:
    return "\x85" in text


NUL = Limitation(
    "nul-character",
    "The ops read the text only up to its first NUL (U+0000); Hugging Face tokenizes what follows.",
    _nul, "every text with a NUL before other text (e.g. 333 of 373 random strings holding one, XLM-R)",
)
SPECIAL_TOKEN_TEXT = Limitation(
    "special-token-text",
    "Added special tokens typed in the text ('<mask>', 'x </s> y'): Hugging Face emits their ids, the ops "
    "split out only the tokens hard-wired in them, or none.",
    _special_token_text, "no corpus line; see docs/tokenizers.md for hand cases",
)

MARK_AFTER_CHANGED_CHARACTER = Limitation(
    "stacked-combining-marks",
    "A combining mark after another mark or after a compatibility character ('o\u0302\u0323', 'Ｖ\u0653'): "
    "Hugging Face's Precompiled normalizer rewrites only the start of such a short grapheme and drops "
    "the rest; sentencepiece (the op) rewrites it mark by mark.",
    _mark_after_changed_character, "2 of 1,348 generated texts in the class (0.15%); 0 of 3,889 corpus lines",
)
NEXT_LINE = Limitation(
    "next-line-character",
    "U+0085 (NEXT LINE): Hugging Face's WhitespaceSplit treats it as a space, sentencepiece as an unknown character.",
    _next_line, "100% of texts holding it between other characters ('a\x85b')",
)

BYTE_LEVEL_BPE: tuple[Limitation, ...] = (NUL, SPECIAL_TOKEN_TEXT)
UNIGRAM: tuple[Limitation, ...] = (NUL, SPECIAL_TOKEN_TEXT, MARK_AFTER_CHANGED_CHARACTER, NEXT_LINE)
