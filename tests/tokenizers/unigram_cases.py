"""SentencePiece-Unigram tokenizers under test for the exact Unigram graph, and the comparison with
Hugging Face. The models are trained here with the ``sentencepiece`` library on the real-text
corpus and converted by ``transformers`` exactly as XLM-R and T5 checkpoints ship them; nothing
of them is in git. Every reference comes from Hugging Face (``tokenizers`` or
``transformers.AutoTokenizer``), never from the graph under test.
"""

from __future__ import annotations

import json
import pathlib
import random
import shutil
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import ClassVar

import onnx
from embedpipe import contract
from embedpipe_tokenizers.unigram import build_exact_unigram_graph
from stage_cases import StageCase


@dataclass
class UnigramCase(StageCase):
    """A SentencePiece-Unigram tokenizer under test for the exact Unigram stage."""

    family: ClassVar[str] = contract.UNIGRAM

    def build(self) -> onnx.ModelProto:
        return build_exact_unigram_graph(self.tokenizer_json, self.max_length, with_token_type_ids=self.with_token_type_ids, op_profile=self.op_profile, **self.options)

    @cached_property
    def pieces(self) -> list[str]:
        vocab = json.loads(self.tokenizer_json.read_text(encoding="utf-8"))["model"]["vocab"]
        return [piece for piece, _ in vocab]

    def random_texts(self, count: int, seed: int) -> list[str]:
        """Up to 60 items each, and one text in fifty of up to 5,000 items."""
        return random_texts(self, count, seed) + random_texts(self, count // 50, seed + 1, max_length=5000)

    def piece_texts(self, count: int, seed: int) -> list[str]:
        """Vocabulary pieces run together, their "▁" a space or nothing."""
        rng = random.Random(seed)
        return [
            "".join(rng.choice(self.pieces).replace("\u2581", rng.choice([" ", ""])) for _ in range(rng.randint(1, 12)))
            for _ in range(count)
        ]

    def truncation_texts(self) -> list[str]:
        rng = random.Random(4)
        body = self.max_length - len(self.reference.encode("").ids)
        words = [p.replace("\u2581", "") for p in self.pieces if p.startswith("\u2581") and len(p) > 2][:400]
        texts = []
        for extra in range(-3, 4):
            texts.append(" ".join(rng.choice(words) for _ in range(body + extra)))
            texts += [" ".join(["ab"] * (body + extra)), "x" * (body + extra), "<mask>" * (body + extra)]
        return texts

    def long_texts(self, corpus: Sequence[str]) -> list[str]:
        """Long documents and runs, and words of tens of thousands of characters, summed from the
        word's start in the library's order: the vocabulary's characters at random, its pieces run
        together, and random Unicode (almost no spaces)."""
        rng = random.Random(5)
        document = " ".join(corpus)
        texts = [document[:20000], document[-50000:], "".join(rng.choice("abcdefghij") for _ in range(20000)), "a" * 20000]
        texts += ["<mask>" * 3000, "\xa0".join(corpus)[:20000], "\u0301" * 5000, " " * 20000 + "x"]
        chars = sorted({ch for piece in self.pieces for ch in piece if ch != "\u2581"})
        pieces = [p.replace("\u2581", "") for p in self.pieces if p.replace("\u2581", "")]
        runs = "".join(rng.choice(pieces) for _ in range(6000))[:20000]
        unicode_ = "".join(chr(rng.choice([rng.randint(0, 0xD7FF), rng.randint(0xE000, 0x10FFFF)])) for _ in range(50000))
        return texts + ["".join(rng.choice(chars) for _ in range(20000)), runs, unicode_, "x" + runs + " " + unicode_[:5000]]


def train_models(root: pathlib.Path, corpus_file: pathlib.Path) -> dict[str, pathlib.Path]:
    """An XLM-R and a T5 tokenizer converted by transformers from one locally trained
    sentencepiece Unigram model, and the layout of xlm-roberta-base's tokenizer.json on the Hub
    (Replace(" {2,}", " ") after the charsmap, Metaspace alone, <mask> stripping on its left)."""
    import sentencepiece
    from transformers import AutoTokenizer

    root.mkdir(parents=True, exist_ok=True)
    sentencepiece.SentencePieceTrainer.train(
        input=str(corpus_file), model_prefix=str(root / "sp"), vocab_size=4000, model_type="unigram",
        character_coverage=0.9995, minloglevel=2,
    )  # fmt: skip
    folders = {}
    for name, file_name, tokenizer_class in (
        ("xlmr", "sentencepiece.bpe.model", "XLMRobertaTokenizer"),
        ("t5", "spiece.model", "T5Tokenizer"),
    ):
        source = root / f"{name}-source"
        source.mkdir()
        shutil.copy(root / "sp.model", source / file_name)
        (source / "tokenizer_config.json").write_text(json.dumps({"tokenizer_class": tokenizer_class, "model_max_length": 512}))
        AutoTokenizer.from_pretrained(str(source)).save_pretrained(str(root / name))
        folders[name] = root / name
    config = json.loads((folders["xlmr"] / "tokenizer.json").read_text(encoding="utf-8"))
    config["normalizer"] = {
        "type": "Sequence",
        "normalizers": [config["normalizer"], {"type": "Replace", "pattern": {"Regex": " {2,}"}, "content": " "}],
    }
    config["pre_tokenizer"] = {"type": "Metaspace", "replacement": "\u2581", "prepend_scheme": "always", "split": True}
    for token in config["added_tokens"]:
        token["lstrip"] = token["content"] == "<mask>"
    classic = root / "xlmr-hub"
    shutil.copytree(folders["xlmr"], classic)
    (classic / "tokenizer.json").write_text(json.dumps(config, ensure_ascii=False), encoding="utf-8")
    folders["xlmr-hub"] = classic
    return folders


# Characters that make tokenizers differ: marks (the charsmap composes "A" + U+0301 only within a
# short grapheme), compatibility characters, controls, NUL, CR LF, whitespace of every kind,
# Hangul jamo, emoji ZWJ sequences, Indic conjuncts, regional indicators, the replacement "▁".
HARD = (
    "A\u0301", "e\u0301\u0301", "A\u0302\u0301", "\uff36\u0653", "\uff21\u0301\U0001d165", "\u2122\u0301", "\U0001f600\u200d\u2122\u0301",
    "\u0915\u094d\u0958\u0301", "\u1100\u1161", "\u1100\u1161\u11a8", "\U0001f1e9\U0001f1ea\u0301", "\r\n", "\r\n\u0301", "\u0600a",
    "\x00", "\x01", "\x85", "\xa0", "\u3000", "\u2028", "\u200b", "\u200d", "\ufeff", "\u2581", "\u2581\u2581", "\t", "\n", " ",
    "\uff1cs\uff1e", "\uff1cunk\uff1e", "\u00bd", "\ufb01", "\u2460", "\U0001f44d\U0001f3fd", "\u0301",
)  # fmt: skip


def random_texts(case: UnigramCase, count: int, seed: int, max_length: int = 60) -> list[str]:
    """Seeded random strings over all of Unicode, with the hard characters, ASCII, spaces,
    vocabulary pieces and special tokens mixed in."""
    rng = random.Random(seed)
    specials = ["<s>", "</s>", "<unk>", "<mask>", "<pad>"]

    def one() -> str:
        parts = []
        for _ in range(rng.randint(0, max_length)):
            kind = rng.random()
            if kind < 0.25:
                parts.append(chr(rng.choice([rng.randint(0, 0xD7FF), rng.randint(0xE000, 0x10FFFF), rng.randint(0, 0x3000)])))
            elif kind < 0.4:
                parts.append(rng.choice(HARD))
            elif kind < 0.55:
                parts.append(rng.choice(" \t\n  ab"))
            elif kind < 0.9:
                parts.append(rng.choice(case.pieces).replace("\u2581", rng.choice([" ", "", "\u2581"])))
            else:
                parts.append(rng.choice(specials))
        return "".join(parts)

    return [one() for _ in range(count)]


def _set(path: str, value: object) -> Callable[[dict], None]:
    """An edit setting the dotted ``path`` of tokenizer.json to ``value``."""

    def edit(config: dict) -> None:
        *parents, last = path.split(".")
        node = config
        for key in parents:
            node = node[key]
        node[last] = value

    return edit


# tokenizer.json edits the exact Unigram stage must refuse, each in one line.
UNSUPPORTED = {
    "byte-fallback": _set("model.byte_fallback", True),
    "bpe-model": _set("model.type", "BPE"),
    "prepend-first": _set(
        "pre_tokenizer", {"type": "Metaspace", "replacement": "\u2581", "prepend_scheme": "first", "split": True}
    ),
    "lowercase": _set("normalizer", {"type": "Lowercase"}),
    "whitespace-only": _set("pre_tokenizer", {"type": "WhitespaceSplit"}),
    "no-unk": _set("model.unk_id", None),
    "single-word-token": lambda c: c["added_tokens"][-1].update(single_word=True),
    "normalized-token": lambda c: c["added_tokens"][-1].update(normalized=True),
}
