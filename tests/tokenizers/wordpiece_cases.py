"""A tokenizer under test for the exact WordPiece graph, and the comparison with Hugging Face.

Every reference comes from Hugging Face (``tokenizers.Tokenizer.from_file`` with truncation, or
``transformers.AutoTokenizer``), never from the graph under test.
"""

from __future__ import annotations

import json
import os
import pathlib
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import cached_property

import numpy as np
import onnx
import onnxruntime as ort
from embedpipe import contract
from embedpipe_tokenizers.exact import build_exact_wordpiece_graph
from onnxruntime_extensions import get_library_path
from tokenizers import Tokenizer

os.environ.setdefault("HF_HUB_OFFLINE", "1")


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
