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
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import cached_property

import numpy as np
import onnx
import onnxruntime as ort
from embedpipe_tokenizers.unigram import build_exact_unigram_graph
from onnxruntime_extensions import get_library_path
from tokenizers import Tokenizer


@dataclass
class UnigramCase:
    name: str
    folder: pathlib.Path
    max_length: int
    op_profile: str = "portable"

    @property
    def tokenizer_json(self) -> pathlib.Path:
        return self.folder / "tokenizer.json"

    @cached_property
    def model(self) -> onnx.ModelProto:
        return build_exact_unigram_graph(self.tokenizer_json, self.max_length, op_profile=self.op_profile)

    @cached_property
    def session(self) -> ort.InferenceSession:
        options = ort.SessionOptions()
        options.intra_op_num_threads = 1
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        options.register_custom_ops_library(get_library_path())  # the oracle profile's GPT2Tokenizer
        return ort.InferenceSession(self.model.SerializeToString(), options, providers=["CPUExecutionProvider"])

    @cached_property
    def reference(self) -> Tokenizer:
        tok = Tokenizer.from_file(str(self.tokenizer_json))
        tok.no_padding()
        tok.enable_truncation(self.max_length)
        return tok

    @cached_property
    def pieces(self) -> list[str]:
        vocab = json.loads(self.tokenizer_json.read_text(encoding="utf-8"))["model"]["vocab"]
        return [piece for piece, _ in vocab]

    def run(self, text: str) -> dict[str, list[int]]:
        outputs = self.session.run(None, {"input": np.array([text], dtype=object)})
        return {o.name: v.reshape(-1).tolist() for o, v in zip(self.session.get_outputs(), outputs)}

    def ids(self, texts: Sequence[str]) -> list[list[int]]:
        """The graph's input_ids per text (two threads: ONNX Runtime releases the GIL while running)."""

        def some(part: Sequence[str]) -> list[list[int]]:
            run = self.session.run
            return [run(["input_ids"], {"input": np.array([text], dtype=object)})[0][0].tolist() for text in part]

        half = (len(texts) + 1) // 2
        with ThreadPoolExecutor(2) as pool:
            first, second = pool.submit(some, texts[:half]), pool.submit(some, texts[half:])
            return first.result() + second.result()

    def reference_ids(self, texts: Sequence[str]) -> list[list[int]]:
        return [e.ids for e in self.reference.encode_batch(list(texts), add_special_tokens=True)]

    def mismatches(self, texts: Sequence[str]) -> list[tuple[str, list[int], list[int]]]:
        return [(t, got, want) for t, got, want in zip(texts, self.ids(texts), self.reference_ids(texts)) if got != want]


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
