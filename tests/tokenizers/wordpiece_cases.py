"""A tokenizer under test for the exact WordPiece graph, and the comparison with Hugging Face.

Every reference comes from Hugging Face (``tokenizers.Tokenizer.from_file`` with truncation, or
``transformers.AutoTokenizer``), never from the graph under test.
"""

from __future__ import annotations

import json
import os
import pathlib
import random
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import cached_property

import numpy as np
import onnx
import onnxruntime as ort
from embedpipe import contract
from embedpipe_tokenizers.wordpiece import build_exact_wordpiece_graph
from onnxruntime_extensions import get_library_path
from tokenizers import Tokenizer

os.environ.setdefault("HF_HUB_OFFLINE", "1")


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
class Case:
    """One tokenizer under test: its folder, the graph built from it, and the Hugging Face reference."""

    name: str
    folder: pathlib.Path
    max_length: int
    with_token_type_ids: bool
    do_lower_case: bool | None = None
    op_profile: str = contract.PORTABLE_PROFILE

    @property
    def tokenizer_json(self) -> pathlib.Path:
        return self.folder / "tokenizer.json"

    @cached_property
    def model(self) -> onnx.ModelProto:
        return build_exact_wordpiece_graph(
            self.tokenizer_json,
            self.max_length,
            with_token_type_ids=self.with_token_type_ids,
            do_lower_case=self.do_lower_case,
            op_profile=self.op_profile,
        )

    @cached_property
    def session(self) -> ort.InferenceSession:
        options = ort.SessionOptions()
        options.intra_op_num_threads = 1
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        if self.op_profile == contract.ORACLE_PROFILE:
            options.register_custom_ops_library(get_library_path())
        return ort.InferenceSession(self.model.SerializeToString(), options, providers=["CPUExecutionProvider"])

    @cached_property
    def reference(self) -> Tokenizer:
        """tokenizer.json as Hugging Face loads it, truncating to max_length (and never padding)."""
        tok = Tokenizer.from_file(str(self.tokenizer_json))
        if self.do_lower_case is not None:
            config = json.loads(tok.to_str())
            config["normalizer"]["lowercase"] = self.do_lower_case
            tok = Tokenizer.from_str(json.dumps(config))
        tok.no_padding()
        tok.enable_truncation(self.max_length)
        return tok

    def run(self, text: str) -> dict[str, list[int]]:
        outputs = self.session.run(None, {"input": np.array([text], dtype=object)})
        return {o.name: v.reshape(-1).tolist() for o, v in zip(self.session.get_outputs(), outputs)}

    def ids(self, texts: Sequence[str]) -> list[list[int]]:
        """The graph's tokens per text: input_ids where the attention mask is 1 (a text with no token
        gets one masked pad, which is no token); two threads, ONNX Runtime releases the GIL while running."""

        def some(part: Sequence[str]) -> list[list[int]]:
            run, out = self.session.run, []
            for text in part:
                ids, mask = run(["input_ids", "attention_mask"], {"input": np.array([text], dtype=object)})
                out.append(ids[0][mask[0] == 1].tolist())
            return out

        half = (len(texts) + 1) // 2
        with ThreadPoolExecutor(2) as pool:
            first, second = pool.submit(some, texts[:half]), pool.submit(some, texts[half:])
            return first.result() + second.result()

    def reference_ids(self, texts: Sequence[str]) -> list[list[int]]:
        return [e.ids for e in self.reference.encode_batch(list(texts))]


def mismatches(
    case: Case, texts: Sequence[str], reference: Callable[[Sequence[str]], list[list[int]]] | None = None, chunk: int = 20000
) -> list[tuple[str, list[int], list[int]]]:
    """(text, graph ids, reference ids) for every text where the two differ."""
    reference = reference or case.reference_ids
    bad: list[tuple[str, list[int], list[int]]] = []
    for start in range(0, len(texts), chunk):
        part = list(texts[start : start + chunk])
        for text, got, want in zip(part, case.ids(part), reference(part)):
            if got != want:
                bad.append((text, got, want))
    return bad


def describe(case: Case, bad: Sequence[tuple[str, list[int], list[int]]], total: int, what: str = "texts") -> str:
    """The failure message: how many differ, then the first ones with both id lists."""
    shown = "\n".join(f"  {t[:80]!r}\n    graph: {g[:40]}\n    hf:    {w[:40]}" for t, g, w in bad[:5])
    return f"{case.name}: {len(bad)} of {total} {what} differ from Hugging Face, first ones:\n{shown}"


def assert_no_mismatch(case: Case, texts: Sequence[str], **kwargs: object) -> None:
    bad = mismatches(case, texts, **kwargs)  # type: ignore[arg-type]
    assert not bad, describe(case, bad, len(texts))


def assert_words_match(case: Case, words: Sequence[str], per_text: int) -> None:
    """Compare ``words`` with Hugging Face ``per_text`` at a time, joined by spaces (the graph takes
    one string per call, so batching words is what keeps a sweep over every code point fast).

    Every word must reach the comparison, so a text whose reference ids fill ``max_length`` fails
    the test. When texts differ, their words are compared one by one too, so the message names the
    smallest failing inputs.
    """
    groups = {" ".join(words[i : i + per_text]): words[i : i + per_text] for i in range(0, len(words), per_text)}

    def reference(texts: Sequence[str]) -> list[list[int]]:
        ids = case.reference_ids(texts)
        full = [t for t, i in zip(texts, ids) if len(i) >= case.max_length]
        assert not full, f"{case.name}: {len(full)} texts of {per_text} words reach max_length, first {full[0][:80]!r}"
        return ids

    texts = list(groups)
    bad = mismatches(case, texts, reference=reference)
    if bad:
        suspects = [w for text, _, _ in bad[:100] for w in groups[text]]
        alone = mismatches(case, suspects)
        on_their_own = describe(case, alone, len(suspects), "words of those texts, alone,")
        raise AssertionError(f"{describe(case, bad, len(texts))}\n{on_their_own}")


def vocab_words(case: Case) -> list[str]:
    vocab = json.loads(case.tokenizer_json.read_text(encoding="utf-8"))["model"]["vocab"]
    return sorted(w for w in vocab if w.strip())


def added_contents(case: Case) -> list[str]:
    return [t["content"] for t in json.loads(case.tokenizer_json.read_text(encoding="utf-8"))["added_tokens"]]


def random_texts(case: Case, count: int, seed: int, long_share: float = 0.0, longest: int = 5000) -> list[str]:
    """Seeded random Unicode: every plane, scripts, marks, whitespace, controls, specials, pieces.
    0 to 39 of those items each; a ``long_share`` of the texts instead has a length in characters
    spread uniformly over 0..``longest``."""
    rng = random.Random(seed)
    pieces = vocab_words(case)
    specials = added_contents(case)
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

    def text() -> str:
        long = long_share > 0 and rng.random() < long_share
        n = rng.randrange(0, longest + 1) if long else rng.randrange(0, 40)
        joined = "".join(pool() for pool in rng.choices(pools, weights, k=n))
        return joined[:n] if long else joined

    return [text() for _ in range(count)]


def piece_texts(case: Case, count: int, seed: int) -> list[str]:
    """Texts built from vocabulary pieces, then disturbed: case, accents, NBSP, ZWSP, 'İ', NUL,
    special tokens typed in the text, pieces glued into long words."""
    rng = random.Random(seed)
    pieces = [p.removeprefix("##") for p in vocab_words(case)]
    specials = added_contents(case)
    extras = ["\u00a0", "\u200b", "\u0130", "\x00", "\u0301", "\u0308", "  ", "\t", "-", "'", ".", "\u00e9", "\u00c9"]
    out = []
    for _ in range(count):
        words = []
        for _ in range(rng.randrange(1, 9)):
            word = "".join(rng.choice(pieces) for _ in range(rng.choice([1, 1, 1, 2, 3, 5])))
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
            words.append(word)
        out.append(rng.choice([" ", " ", "  ", "\u00a0", "\n"]).join(words))
    return out


def sweep_code_points(case: Case, everything: bool | None = None) -> list[int]:
    """Every scalar value (1,112,064; by default for MiniLM only), or the BMP start, the
    vocabulary's characters and a stride through all planes (about 23,700 for a tiny tokenizer)."""
    if everything or (everything is None and case.name == "all-MiniLM-L6-v2"):
        return [cp for cp in range(0x110000) if not 0xD800 <= cp <= 0xDFFF]
    chars = {ord(ch) for w in vocab_words(case) for ch in w}
    return sorted(set(range(0x3000)) | chars | set(range(0x3000, 0x110000, 97)) - set(range(0xD800, 0xE000)))
