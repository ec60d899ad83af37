"""Tiny byte-level BPE tokenizers (GPT2 and RoBERTa styles) trained here for the exact BPE graph
tests, and the case object comparing the graph with Hugging Face (nothing of them is in git)."""

from __future__ import annotations

import json
import pathlib
import random
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property

import onnx
import onnxruntime as ort
from embedpipe import contract
from embedpipe.runtime import open_session
from embedpipe_tokenizers.bpe import build_exact_bpe_graph
from stage_checks import GPT2_TOKENIZER_CONFIG, roberta_tokenizer_config, save_tokenizer_folder
from tokenizers import AddedToken, Tokenizer, decoders, models, pre_tokenizers, processors, trainers
from wordpiece_cases import Case

ROBERTA_SPECIALS = ["<s>", "<pad>", "</s>", "<unk>"]


@dataclass
class BpeCase(Case):
    """A byte-level BPE tokenizer under test; the graph is the exact BPE one in ``op_profile``.

    Under the oracle profile the text reaches the graph through GPT2Tokenizer, which stops at the
    first NUL (a declared limitation), so the reference there is Hugging Face on the text up to it."""

    with_token_type_ids: bool = False
    op_profile: str = contract.PORTABLE_PROFILE

    @cached_property
    def model(self) -> onnx.ModelProto:
        return build_exact_bpe_graph(self.tokenizer_json, self.max_length, op_profile=self.op_profile)

    @cached_property
    def session(self) -> ort.InferenceSession:
        return open_session(self.model, threads=1)

    def reference_ids(self, texts: Sequence[str]) -> list[list[int]]:
        if self.op_profile == contract.ORACLE_PROFILE:
            texts = [t.split("\x00", 1)[0] for t in texts]
        return super().reference_ids(texts)


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
    return BpeCase(name, save_tokenizer_folder(root / name, tok, config), max_length)


def roberta_case(root: pathlib.Path, corpus: Sequence[str], name: str, *, add_prefix_space: bool, max_length: int) -> BpeCase:
    """RoBERTa style as RobertaTokenizerFast saves it: <s> <pad> </s> <unk>, then <mask> stripping
    whitespace on its left, and <s> X </s> from RobertaProcessing."""
    tok = _train(corpus, ROBERTA_SPECIALS, 3500, add_prefix_space=add_prefix_space)
    tok.add_special_tokens([AddedToken("<mask>", lstrip=True, rstrip=False, single_word=False, normalized=False, special=True)])
    tok.post_processor = processors.RobertaProcessing(
        ("</s>", tok.token_to_id("</s>")), ("<s>", tok.token_to_id("<s>")), trim_offsets=True, add_prefix_space=add_prefix_space
    )
    config = roberta_tokenizer_config(add_prefix_space)
    return BpeCase(name, save_tokenizer_folder(root / name, tok, config), max_length)


WHITESPACE = [" ", "  ", "\t", "\n", "\r\n", "\u00a0", "\u2009", "\u3000", "\u200b", "\u2028", "\x0b", "\x0c", "\u0085", "\ufeff"]
ODD = ["\x00", "\ufffd", "\x1f", "\x7f", "\u200d", "\u00ad", "\ue000", "\U000f0000", "\u0130", "\u0301", "\U0001f600", "\u0e31"]
APOSTROPHES = ["'", "'s", "'t", "'re", "'ve", "'m", "'ll", "'d", "'S", "'r", "'l", "''", "\u2019s", " '", "n't"]
DIGITS = ["0", "7", "2024", "3.14", "\u0661\u0662", "\u00bd", "\u2460", "\uff11"]
PUNCT = [".", ",", "!", "?", "-", "--", "...", "(", ")", '"', "@", "#", "$", "%", "&", "*", "\u2014", "\u00bf"]


def vocabulary_texts(case: Case) -> list[str]:
    """The vocabulary's pieces as text (ByteLevel characters back to bytes, whole characters only)."""
    tok = Tokenizer.from_file(str(case.tokenizer_json))
    vocab = json.loads(case.tokenizer_json.read_text(encoding="utf-8"))["model"]["vocab"]
    texts = {tok.decode([i]) for i in vocab.values()}
    return sorted(t for t in texts if t.strip() and "\ufffd" not in t)


def added_contents(case: Case) -> list[str]:
    return [t["content"] for t in json.loads(case.tokenizer_json.read_text(encoding="utf-8"))["added_tokens"]]


def random_texts(case: Case, count: int, seed: int, long_share: float = 0.0, longest: int = 5000) -> list[str]:
    """Seeded random Unicode: every plane, scripts, marks, whitespace runs, controls, NUL,
    apostrophes and contractions, digits, punctuation, added tokens and vocabulary pieces. 0 to 39
    items each; a ``long_share`` of the texts instead has a length spread over 0..``longest``."""
    rng = random.Random(seed)
    pieces = vocabulary_texts(case)
    specials = added_contents(case)
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

    def text() -> str:
        long = long_share > 0 and rng.random() < long_share
        n = rng.randrange(0, longest + 1) if long else rng.randrange(0, 40)
        joined = "".join(pool() for pool in rng.choices(pools, weights, k=n))
        return joined[:n] if long else joined

    return [text() for _ in range(count)]


def piece_texts(case: Case, count: int, seed: int) -> list[str]:
    """Words glued from vocabulary pieces, then disturbed: apostrophes and contractions, digits,
    punctuation, NUL, whitespace runs, added tokens typed against or apart from the words."""
    rng = random.Random(seed)
    pieces = vocabulary_texts(case)
    specials = added_contents(case)
    extras = [*APOSTROPHES, *DIGITS, *PUNCT, "\x00", "\u00a0", "  ", "\t", "\n\n", "\u0301"]
    out = []
    for _ in range(count):
        words = []
        for _ in range(rng.randrange(1, 9)):
            word = "".join(rng.choice(pieces) for _ in range(rng.choice([1, 1, 1, 2, 3, 5])))
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
            words.append(word)
        out.append(rng.choice([" ", " ", "  ", "\n", "", " \n "]).join(words))
    return out


def sweep_code_points(full: bool) -> list[int]:
    """All 1,112,064 scalar values, or the BMP start and a stride through all planes (about 23,000)."""
    if full:
        return [cp for cp in range(0x110000) if not 0xD800 <= cp <= 0xDFFF]
    return sorted(set(range(0x3000)) | set(range(0x3000, 0x110000, 97)) - set(range(0xD800, 0xE000)))
