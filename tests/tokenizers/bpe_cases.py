"""Byte-level BPE tokenizers under test for the exact BPE stage (tiny GPT2 and RoBERTa styles are
trained here, nothing of them is in git), and the texts that stress it."""

from __future__ import annotations

import json
import pathlib
import random
from collections.abc import Sequence
from dataclasses import dataclass
from typing import ClassVar

import onnx
from embedpipe import contract
from embedpipe_tokenizers.bpe import build_exact_bpe_graph
from stage_cases import StageCase, glued_pieces, joined_words, mixed_texts
from stage_checks import GPT2_TOKENIZER_CONFIG, added_token, roberta_tokenizer_config, save_tokenizer_folder
from tokenizers import AddedToken, Tokenizer, decoders, models, pre_tokenizers, processors, trainers

ROBERTA_SPECIALS = ["<s>", "<pad>", "</s>", "<unk>"]


@dataclass
class BpeCase(StageCase):
    """A byte-level BPE tokenizer under test for the exact BPE stage."""

    family: ClassVar[str] = contract.BPE

    def build(self) -> onnx.ModelProto:
        return build_exact_bpe_graph(self.tokenizer_json, self.max_length, with_token_type_ids=self.with_token_type_ids, op_profile=self.op_profile, **self.options)

    def random_texts(self, count: int, seed: int) -> list[str]:
        """70% of 0 to 39 items, 30% of 0 to 5,000 characters."""
        return random_texts(self, count, seed, long_share=0.3, longest=5000)

    def piece_texts(self, count: int, seed: int) -> list[str]:
        return piece_texts(self, count, seed)

    def truncation_texts(self) -> list[str]:
        """Bodies of max_length - 3 .. max_length + 3 tokens around the cut: one-token words, a long
        word cut across the edge, an added token at the edge, a contraction at the edge."""
        counter = Tokenizer.from_str(self.reference.to_str())
        counter.no_truncation()
        words = [w for w in vocabulary_texts(self) if w.strip().isalpha() and w.isascii() and w.startswith(" ")]
        words = [w for w in words if len(counter.encode(w, add_special_tokens=False).ids) == 1]
        long_word = "".join(w.strip() for w in words[:40])
        added = len(counter.encode("").ids)
        texts = []
        for body in range(self.max_length - added - 3, self.max_length - added + 4):
            one = "".join(words[i % len(words)] for i in range(body))
            if len(counter.encode(one, add_special_tokens=False).ids) != body:
                one = " " + one.lstrip()  # a first word without its space may split in two
            middle = len(one) // 2
            texts += [one, one + " " + long_word, one[:middle] + long_word + one[middle:]]
            texts += [one + self.added_contents[-1], one + "'s x", one + " \x00"]
        return texts

    def long_texts(self, corpus: Sequence[str]) -> list[str]:
        rng = random.Random(3)
        document = " ".join(rng.choice(corpus) for _ in range(400))[:20000]
        word = "".join(rng.choice("abcdefghij") for _ in range(20000))
        texts = [document, " ".join(rng.choice(corpus) for _ in range(900))[:50000], word, "a" * 20000]
        texts += [" ".join(["x" * 150] * 130)[:20000], "\u00e9" * 20000, "\u4e2d" * 20000, " " * 20000, "\n" * 20000]
        return texts + ["<mask>" * 3000, "<|endoftext|>" * 2000, "'s" * 10000]


def _train(corpus: Sequence[str], specials: list[str], size: int, add_prefix_space: bool) -> Tokenizer:
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=add_prefix_space)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=size, special_tokens=specials, min_frequency=2, initial_alphabet=pre_tokenizers.ByteLevel.alphabet()
    )
    tok.train_from_iterator(corpus, trainer)
    return tok


def gpt2_case(root: pathlib.Path, corpus: Sequence[str], name: str, *, bytelevel_post: bool, max_length: int) -> BpeCase:
    """GPT2 style: no prefix space, <|endoftext|> only, no post-processor or a ByteLevel one."""
    tok = _train(corpus, ["<|endoftext|>"], 3000, add_prefix_space=False)
    if bytelevel_post:
        tok.post_processor = processors.ByteLevel(trim_offsets=False)
    config = GPT2_TOKENIZER_CONFIG
    return BpeCase(name, save_tokenizer_folder(root / name, tok, config), max_length, full_sweeps=True)


def roberta_case(root: pathlib.Path, corpus: Sequence[str], name: str, *, add_prefix_space: bool, max_length: int) -> BpeCase:
    """RoBERTa style as RobertaTokenizerFast saves it: <s> <pad> </s> <unk>, then <mask> stripping
    whitespace on its left, and <s> X </s> from RobertaProcessing."""
    tok = _train(corpus, ROBERTA_SPECIALS, 3500, add_prefix_space=add_prefix_space)
    tok.add_special_tokens([AddedToken("<mask>", lstrip=True, rstrip=False, single_word=False, normalized=False, special=True)])
    tok.post_processor = processors.RobertaProcessing(
        ("</s>", tok.token_to_id("</s>")), ("<s>", tok.token_to_id("<s>")), trim_offsets=True, add_prefix_space=add_prefix_space
    )
    config = roberta_tokenizer_config(add_prefix_space)
    return BpeCase(name, save_tokenizer_folder(root / name, tok, config), max_length, full_sweeps=True)


WHITESPACE = [" ", "  ", "\t", "\n", "\r\n", "\u00a0", "\u2009", "\u3000", "\u200b", "\u2028", "\x0b", "\x0c", "\u0085", "\ufeff"]
ODD = ["\x00", "\ufffd", "\x1f", "\x7f", "\u200d", "\u00ad", "\ue000", "\U000f0000", "\u0130", "\u0301", "\U0001f600", "\u0e31"]
APOSTROPHES = ["'", "'s", "'t", "'re", "'ve", "'m", "'ll", "'d", "'S", "'r", "'l", "''", "\u2019s", " '", "n't"]
DIGITS = ["0", "7", "2024", "3.14", "\u0661\u0662", "\u00bd", "\u2460", "\uff11"]
PUNCT = [".", ",", "!", "?", "-", "--", "...", "(", ")", '"', "@", "#", "$", "%", "&", "*", "\u2014", "\u00bf"]


def vocabulary_texts(case: BpeCase) -> list[str]:
    """The vocabulary's pieces as text (ByteLevel characters back to bytes, whole characters only)."""
    tok = Tokenizer.from_file(str(case.tokenizer_json))
    vocab = json.loads(case.tokenizer_json.read_text(encoding="utf-8"))["model"]["vocab"]
    texts = {tok.decode([i]) for i in vocab.values()}
    return sorted(t for t in texts if t.strip() and "\ufffd" not in t)


def random_texts(case: BpeCase, count: int, seed: int, long_share: float = 0.0, longest: int = 5000) -> list[str]:
    """Seeded random Unicode: every plane, scripts, marks, whitespace runs, controls, NUL,
    apostrophes and contractions, digits, punctuation, added tokens and vocabulary pieces. 0 to 39
    items each; a ``long_share`` of the texts instead has a length spread over 0..``longest``."""
    rng = random.Random(seed)
    pieces = vocabulary_texts(case)
    specials = case.added_contents
    pools = [
        lambda: chr(rng.randrange(0x20, 0x7F)),
        lambda: chr(rng.randrange(0xA0, 0x250)),
        lambda: chr(rng.randrange(0x370, 0x530)),
        lambda: rng.choice(WHITESPACE),
        lambda: rng.choice(ODD),
        lambda: rng.choice(APOSTROPHES),
        lambda: rng.choice(DIGITS),
        lambda: rng.choice(PUNCT),
        lambda: chr(rng.randrange(0x4E00, 0xA000)),
        lambda: chr(rng.randrange(0x900, 0x1000)),
        lambda: chr(rng.choice([rng.randrange(0, 0xD800), rng.randrange(0xE000, 0x110000)])),
        lambda: rng.choice(specials),
        lambda: rng.choice(pieces),
    ]
    weights = [8, 3, 2, 5, 2, 3, 2, 3, 2, 2, 2, 1, 8]
    return mixed_texts(rng, pools, weights, count, long_share, longest)


def piece_texts(case: BpeCase, count: int, seed: int) -> list[str]:
    """Words glued from vocabulary pieces, then disturbed: apostrophes and contractions, digits,
    punctuation, NUL, whitespace runs, added tokens typed against or apart from the words."""
    rng = random.Random(seed)
    pieces = vocabulary_texts(case)
    specials = case.added_contents
    extras = [*APOSTROPHES, *DIGITS, *PUNCT, "\x00", "\u00a0", "  ", "\t", "\n\n", "\u0301"]

    def word() -> str:
        word = glued_pieces(rng, pieces)
        change = rng.random()
        if change < 0.15:
            word = word.upper()
        elif change < 0.45:
            i = rng.randrange(len(word) + 1)
            word = word[:i] + rng.choice(extras) + word[i:]
        elif change < 0.6:
            gap = rng.choice(["", " ", "  ", "\n"])
            special = rng.choice(specials)
            word = special + gap + word if rng.random() < 0.5 else word + gap + special
        return word

    return joined_words(rng, count, word, [" ", " ", "  ", "\n", "", " \n "])


# tokenizer.json edits the exact BPE stage must refuse, each in one line.
UNSUPPORTED = {
    "wordpiece model": lambda c: c["model"].update(type="WordPiece"),
    "dropout": lambda c: c["model"].update(dropout=0.1),
    "byte_fallback": lambda c: c["model"].update(byte_fallback=True),
    "ignore_merges": lambda c: c["model"].update(ignore_merges=True),
    "word suffix": lambda c: c["model"].update(end_of_word_suffix="</w>"),
    "nfc normalizer": lambda c: c.__setitem__("normalizer", {"type": "NFC"}),
    "metaspace pre-tokenizer": lambda c: c.__setitem__(
        "pre_tokenizer", {"type": "Metaspace", "replacement": "▁", "prepend_scheme": "always", "split": True}
    ),
    "missing byte": lambda c: c["model"]["vocab"].pop("Ā"),
    "merges out of order": lambda c: c["model"].__setitem__("merges", list(reversed(c["model"]["merges"]))),
    "single_word token": lambda c: c["added_tokens"].append(added_token("[X]", 9999, single_word=True)),
    "overlapping tokens": lambda c: c["added_tokens"].extend([added_token("<ab", 9998), added_token("b>", 9999)]),
    "two templates": lambda c: c.__setitem__(
        "post_processor", {"type": "Sequence", "processors": [c["post_processor"], c["post_processor"]]}
    ),
}
