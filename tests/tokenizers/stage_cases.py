"""One exact tokenizer stage under test, whatever its family, and the comparison with Hugging Face.

A case is a tokenizer folder, the stage built from it and the Hugging Face reference. Each family
(wordpiece_cases.py, bpe_cases.py, unigram_cases.py) builds its stage and makes the texts that
stress it; the conformance suite (test_conformance.py) holds every family to the same checks.
Every reference comes from Hugging Face (``tokenizers`` with truncation, ``transformers``), never
from the graph under test.
"""

from __future__ import annotations

import dataclasses
import json
import pathlib
import random
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, ClassVar, Self

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from embedpipe import contract
from embedpipe.runtime import open_session
from tokenizers import Tokenizer

# A max_length no test text reaches: the sweeps join thousands of words into one text.
UNTRUNCATED = 10**7


@dataclass
class StageCase:
    """A tokenizer folder, the family's exact stage built from it in ``op_profile``, and Hugging Face.

    ``options`` go to the family's builder as they are (opset, prefix, ...). In the oracle profile the
    text reaches the stage through GPT2Tokenizer, which stops at the first NUL (a declared
    limitation), so the reference there is Hugging Face on the text up to it.
    """

    name: str
    folder: pathlib.Path
    max_length: int
    op_profile: str = contract.PORTABLE_PROFILE
    options: dict[str, Any] = field(default_factory=dict)
    with_token_type_ids: bool = False
    full_sweeps: bool = False  # sweep all 1,112,064 code points, else a sample of about 23,700

    family: ClassVar[str]

    def build(self) -> onnx.ModelProto:
        raise NotImplementedError

    def variant(self, label: str, **changes: Any) -> Self:
        """The same tokenizer with other fields or builder options (a new graph, built on first use)."""
        options = {**self.options, **changes.pop("options", {})}
        return dataclasses.replace(self, name=f"{self.name} {label}", options=options, **changes)

    def untruncated(self) -> Self:
        """This tokenizer without truncation, for sweeps that join many words into one text."""
        return self.variant("(untruncated)", max_length=UNTRUNCATED)

    @property
    def tokenizer_json(self) -> pathlib.Path:
        return self.folder / "tokenizer.json"

    @cached_property
    def model(self) -> onnx.ModelProto:
        return self.build()

    @cached_property
    def session(self) -> ort.InferenceSession:
        return open_session(self.model, threads=1)

    @cached_property
    def reference(self) -> Tokenizer:
        """tokenizer.json as Hugging Face loads it, truncating to max_length (and never padding)."""
        tok = Tokenizer.from_file(str(self.tokenizer_json))
        tok.no_padding()
        tok.enable_truncation(self.max_length)
        return tok

    @cached_property
    def added_tokens(self) -> list[dict[str, Any]]:
        return json.loads(self.tokenizer_json.read_text(encoding="utf-8"))["added_tokens"]

    @cached_property
    def added_contents(self) -> list[str]:
        return [token["content"] for token in self.added_tokens]

    @cached_property
    def separator(self) -> str:
        """A special token that strips no whitespace and is matched before normalization: it can
        stand between swept texts without touching them."""
        flags = ("lstrip", "rstrip", "normalized", "single_word")
        return next(t["content"] for t in self.added_tokens if t["special"] and not any(t[f] for f in flags))

    def swept_code_points(self) -> list[int]:
        return CODE_POINTS if self.full_sweeps else code_point_sample(list(self.reference.get_vocab()))

    def run(self, text: str) -> dict[str, list[int]]:
        outputs = self.session.run(None, {contract.TEXT: np.array([text], dtype=object)})
        return {o.name: v.reshape(-1).tolist() for o, v in zip(self.session.get_outputs(), outputs)}

    def ids(self, texts: Sequence[str]) -> list[list[int]]:
        """The graph's tokens per text: input_ids where the attention mask is 1 (a text with no token
        gets one masked pad, which is no token); two threads, ONNX Runtime releases the GIL while running."""

        def some(part: Sequence[str]) -> list[list[int]]:
            run, out = self.session.run, []
            for text in part:
                ids, mask = run([contract.INPUT_IDS, contract.ATTENTION_MASK], {contract.TEXT: np.array([text], dtype=object)})
                out.append(ids[0][mask[0] == 1].tolist())
            return out

        half = (len(texts) + 1) // 2
        with ThreadPoolExecutor(2) as pool:
            first, second = pool.submit(some, texts[:half]), pool.submit(some, texts[half:])
            return first.result() + second.result()

    def reference_ids(self, texts: Sequence[str]) -> list[list[int]]:
        if self.op_profile == contract.ORACLE_PROFILE:
            texts = [t.split("\x00", 1)[0] for t in texts]
        return [e.ids for e in self.reference.encode_batch(list(texts))]

    # The texts each family makes to stress its stage (see the family's module).
    def random_texts(self, count: int, seed: int) -> list[str]:
        raise NotImplementedError

    def piece_texts(self, count: int, seed: int) -> list[str]:
        raise NotImplementedError

    def truncation_texts(self) -> list[str]:
        raise NotImplementedError

    def long_texts(self, corpus: Sequence[str]) -> list[str]:
        raise NotImplementedError


Reference = Callable[[Sequence[str]], list[list[int]]]


def mismatches(
    case: StageCase, texts: Sequence[str], reference: Reference | None = None, chunk: int = 20000
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


def describe(case: StageCase, bad: Sequence[tuple[str, list[int], list[int]]], total: int, what: str = "texts") -> str:
    """The failure message: how many differ, then the first ones with both id lists."""
    shown = "\n".join(f"  {t[:80]!r}\n    graph: {g[:40]}\n    hf:    {w[:40]}" for t, g, w in bad[:5])
    return f"{case.name}: {len(bad)} of {total} {what} differ from Hugging Face, first ones:\n{shown}"


def assert_no_mismatch(case: StageCase, texts: Sequence[str], reference: Reference | None = None) -> None:
    bad = mismatches(case, texts, reference)
    assert not bad, describe(case, bad, len(texts))


def assert_words_match(case: StageCase, words: Sequence[str], per_text: int, joiner: str = " ") -> None:
    """Compare ``words`` with Hugging Face ``per_text`` at a time, joined by ``joiner`` (the graph
    takes one string per call, so joining words is what keeps a sweep over every code point fast).

    Every word must reach the comparison, so a text whose reference ids fill ``max_length`` fails
    the test. When texts differ, their words are compared one by one too, so the message names the
    smallest failing inputs.
    """
    groups = {joiner.join(words[i : i + per_text]): words[i : i + per_text] for i in range(0, len(words), per_text)}

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


def assert_each_alone(case: StageCase, texts: Sequence[str], per_text: int = 2000) -> None:
    """Each of ``texts`` as Hugging Face sees it alone, ``per_text`` at a time between separators.

    Hugging Face cuts a text at its added tokens first and normalizes and pre-tokenizes each part
    on its own, so a part between two separators is tokenized as that part alone; the case must
    be untruncated for the joined texts to fit.
    """
    assert case.max_length == UNTRUNCATED, "join texts only without truncation"
    assert_words_match(case, texts, per_text, joiner=case.separator)


def mixed_texts(
    rng: random.Random, pools: Sequence[Callable[[], str]], weights: Sequence[int], count: int, long_share: float, longest: int
) -> list[str]:
    """``count`` texts of items drawn from ``pools`` by ``weights``, 0 to 39 items each; a
    ``long_share`` of them instead ``n`` characters long, ``n`` spread over 0..``longest``."""

    def text() -> str:
        long = long_share > 0 and rng.random() < long_share
        n = rng.randrange(0, longest + 1) if long else rng.randrange(0, 40)
        joined = "".join(pool() for pool in rng.choices(pools, weights, k=n))
        return joined[:n] if long else joined

    return [text() for _ in range(count)]


def glued_pieces(rng: random.Random, pieces: Sequence[str]) -> str:
    """A word of one to five vocabulary pieces run together (mostly one)."""
    return "".join(rng.choice(pieces) for _ in range(rng.choice([1, 1, 1, 2, 3, 5])))


def joined_words(rng: random.Random, count: int, word: Callable[[], str], separators: Sequence[str]) -> list[str]:
    """``count`` texts of one to eight ``word()`` each, joined by one of ``separators``."""
    out = []
    for _ in range(count):
        words = [word() for _ in range(rng.randrange(1, 9))]
        out.append(rng.choice(separators).join(words))
    return out


# Every Unicode scalar value: 1,112,064.
CODE_POINTS = [cp for cp in range(0x110000) if not 0xD800 <= cp <= 0xDFFF]


def code_point_sample(extra: Sequence[str] = ()) -> list[int]:
    """The BMP start, the characters of ``extra`` and a stride through every plane (about 23,000):
    code points swept as whole texts, one call each, where the full sweeps join them."""
    chars = {ord(ch) for text in extra for ch in text}
    return sorted(set(range(0x3000)) | chars | set(range(0x3000, 0x110000, 97)) - set(range(0xD800, 0xE000)))


# Every tiny tokenizer by family, and the real all-MiniLM-L6-v2 one: the conformance suite's cases.
CASES = {
    contract.WORDPIECE: ["minilm", "bert-uncased", "bert-cased", "distilbert", "mpnet-template", "mpnet-roberta", "bert-odd"],
    contract.BPE: ["gpt2", "gpt2-bytelevel", "roberta", "roberta-prefix"],
    contract.UNIGRAM: ["xlmr", "t5", "xlmr-hub"],
}


def stage_case(request: pytest.FixtureRequest, family: str, name: str) -> StageCase:
    """The case ``name`` of ``family`` (each family's tokenizers are made on first use)."""
    if name == "minilm":
        return request.getfixturevalue("minilm")
    fixture = {contract.WORDPIECE: "tiny_cases", contract.BPE: "bpe_cases", contract.UNIGRAM: "unigram_cases"}[family]
    return request.getfixturevalue(fixture)[name]
