"""WordPiece tokenizers under test for the exact WordPiece stage, and the texts that stress it."""

from __future__ import annotations

import json
import random
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import ClassVar

import onnx
from embedpipe import contract
from embedpipe_tokenizers.wordpiece import build_exact_wordpiece_graph
from stage_cases import StageCase, glued_pieces, joined_words, mixed_texts
from stage_checks import added_token
from tokenizers import Tokenizer

WHITESPACE = [
    " ",
    "\t",
    "\n",
    "\r",
    "\u00a0",
    "\u2009",
    "\u3000",
    "\u200b",
    "\u2028",
    "\x0b",
    "\x0c",
    "\u0085",
    "\u1680",
    "\u202f",
    "\u205f",
    "\ufeff",
]
ODD = [
    "\x00",
    "\ufffd",
    "\x1f",
    "\x7f",
    "\u200d",
    "\u200c",
    "\u00ad",
    "\ue000",
    "\U000f0000",
    "\u0130",
    "\u0131",
    "\u1e9e",
    "\u03a3",
    "\u2126",
    "\u212a",
    "\ufb01",
    "\u0149",
    "\u1f88",
    "\U0001d400",
    "\uff21",
    "\u2460",
]
MARKS = [
    "\u0300",
    "\u0301",
    "\u0308",
    "\u0327",
    "\u0345",
    "\u05b0",
    "\u0903",
    "\u093c",
    "\u094d",
    "\u0f71",
    "\u0f72",
    "\u0f80",
    "\u1dc0",
    "\u20d0",
    "\u302a",
    "\U0001d165",
    "\U0001d16d",
    "\u0e31",
    "\u0bcd",
]


@dataclass
class WordPieceCase(StageCase):
    """A WordPiece tokenizer under test; ``do_lower_case`` overrides its normalizer's when not None."""

    with_token_type_ids: bool = True
    do_lower_case: bool | None = None

    family: ClassVar[str] = contract.WORDPIECE

    def build(self) -> onnx.ModelProto:
        return build_exact_wordpiece_graph(
            self.tokenizer_json,
            self.max_length,
            with_token_type_ids=self.with_token_type_ids,
            do_lower_case=self.do_lower_case,
            op_profile=self.op_profile,
            **self.options,
        )

    @cached_property
    def reference(self) -> Tokenizer:
        tok = super().reference
        if self.do_lower_case is not None:
            config = json.loads(tok.to_str())
            config["normalizer"]["lowercase"] = self.do_lower_case
            tok = Tokenizer.from_str(json.dumps(config))
        return tok

    def random_texts(self, count: int, seed: int) -> list[str]:
        return random_texts(self, count, seed)

    def piece_texts(self, count: int, seed: int) -> list[str]:
        return piece_texts(self, count, seed)

    def truncation_texts(self) -> list[str]:
        """Bodies of max_length - 3 .. max_length + 3 tokens around the cut: one-token words, a word cut
        into pieces across the edge, a special token at the edge, an unknown word at the edge."""
        counter = Tokenizer.from_str(self.reference.to_str())
        counter.no_truncation()
        letters = [w for w in vocab_words(self) if w.isalpha() and w.isascii()]
        words = [w for w in letters if len(counter.encode(w, add_special_tokens=False).ids) == 1]
        long_word = max(letters, key=len) * 3
        special = self.added_contents[-1]
        added = len(counter.encode("").ids)
        texts = []
        for body in range(self.max_length - added - 3, self.max_length - added + 4):
            one = " ".join(words[i % len(words)] for i in range(body))
            assert len(counter.encode(one, add_special_tokens=False).ids) == body
            middle = len(one) // 2
            texts += [one, one + " " + long_word, one[:middle] + " " + long_word + " " + one[middle:]]
            texts += [one + special, one + " " + special + " x", one + " \u2603\u2603"]
        return texts

    def long_texts(self, corpus: Sequence[str]) -> list[str]:
        rng = random.Random(3)
        document = " ".join(rng.choice(corpus) for _ in range(400))[:20000]
        word = "".join(rng.choice("abcdefghij") for _ in range(20000))
        return [document, word, "a" * 20000, " ".join(["x" * 150] * 130)[:20000], "\u00e9" * 20000, "\u4e2d" * 20000, " " * 20000]


def vocab_words(case: WordPieceCase) -> list[str]:
    vocab = json.loads(case.tokenizer_json.read_text(encoding="utf-8"))["model"]["vocab"]
    return sorted(w for w in vocab if w.strip())


def random_texts(case: WordPieceCase, count: int, seed: int, long_share: float = 0.0, longest: int = 5000) -> list[str]:
    """Seeded random Unicode: every plane, scripts, marks, whitespace, controls, specials, pieces.
    0 to 39 of those items each; a ``long_share`` of the texts instead has a length in characters
    spread uniformly over 0..``longest``."""
    rng = random.Random(seed)
    pieces = vocab_words(case)
    specials = case.added_contents
    pools = [
        lambda: chr(rng.randrange(0x20, 0x7F)),
        lambda: chr(rng.randrange(0xA0, 0x250)),
        lambda: chr(rng.randrange(0x370, 0x530)),
        lambda: rng.choice(MARKS),
        lambda: rng.choice(WHITESPACE),
        lambda: rng.choice(ODD),
        lambda: chr(rng.randrange(0x4E00, 0xA000)),
        lambda: chr(rng.randrange(0xAC00, 0xD7A4)),
        lambda: chr(rng.randrange(0x900, 0x1000)),
        lambda: chr(rng.randrange(0x1F300, 0x1FAFF)),
        lambda: chr(rng.choice([rng.randrange(0, 0xD800), rng.randrange(0xE000, 0x110000)])),
        lambda: rng.choice(specials),
        lambda: rng.choice(pieces).removeprefix("##"),
    ]
    weights = [8, 3, 2, 2, 3, 1, 2, 1, 2, 1, 2, 1, 6]
    return mixed_texts(rng, pools, weights, count, long_share, longest)


def piece_texts(case: WordPieceCase, count: int, seed: int) -> list[str]:
    """Texts built from vocabulary pieces, then disturbed: case, accents, NBSP, ZWSP, 'İ', NUL,
    special tokens typed in the text, pieces glued into long words."""
    rng = random.Random(seed)
    pieces = [p.removeprefix("##") for p in vocab_words(case)]
    specials = case.added_contents
    extras = ["\u00a0", "\u200b", "\u0130", "\x00", "\u0301", "\u0308", "  ", "\t", "-", "'", ".", "\u00e9", "\u00c9"]

    def word() -> str:
        word = glued_pieces(rng, pieces)
        change = rng.random()
        if change < 0.2:
            word = word.upper()
        elif change < 0.35:
            word = word.capitalize()
        elif change < 0.5:
            i = rng.randrange(len(word) + 1)
            word = word[:i] + rng.choice(extras) + word[i:]
        elif change < 0.6:
            word = rng.choice(specials) + word if rng.random() < 0.5 else word + rng.choice(specials)
        return word

    return joined_words(rng, count, word, [" ", " ", "  ", "\u00a0", "\n"])


# tokenizer.json edits the exact WordPiece stage must refuse, each in one line.
UNSUPPORTED = {
    "bpe model": lambda c: c["model"].update(type="BPE"),
    "unigram model": lambda c: c.__setitem__("model", {"type": "Unigram", "vocab": [["a", 0.0]], "unk_id": 0}),
    "nfkc normalizer": lambda c: c.__setitem__("normalizer", {"type": "NFKC"}),
    "sequence normalizer": lambda c: c.__setitem__("normalizer", {"type": "Sequence", "normalizers": [{"type": "NFD"}]}),
    "whitespace pre-tokenizer": lambda c: c.__setitem__("pre_tokenizer", {"type": "Whitespace"}),
    "no pre-tokenizer": lambda c: c.__setitem__("pre_tokenizer", None),
    "single_word token": lambda c: c["added_tokens"].append(added_token("[X]", 9999, single_word=True)),
    "normalized token normalizing to nothing": lambda c: c["added_tokens"].append(added_token("\x01", 9999, normalized=True)),
    "normalized token of marks": lambda c: c["added_tokens"].append(added_token("x\U0001d165", 9999, normalized=True)),
    "lstrip beside a normalized token ending in whitespace": lambda c: c["added_tokens"].extend(
        [added_token("<l>", 9998, lstrip=True), added_token("y\u3000", 9999, normalized=True)]
    ),
    "overlapping tokens": lambda c: c["added_tokens"].extend([added_token("<ab", 9998), added_token("b>", 9999)]),
    "rstrip beside a leading-space token": lambda c: c["added_tokens"].extend(
        [added_token("<r>", 9998, rstrip=True), added_token(" x", 9999)]
    ),
    "template without sequence A": lambda c: c["post_processor"].update(single=[{"SpecialToken": {"id": "[CLS]", "type_id": 0}}]),
}
