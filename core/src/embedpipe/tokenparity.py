"""Token-id parity of a tokenizer-stage graph against the model's Hugging Face tokenizer, per input class.

Why: an in-graph tokenizer that differs from Hugging Face's on some inputs silently degrades
the embedding for exactly those inputs; counting mismatches per class (textclasses) shows which
inputs are affected and how often, instead of one overall rate that hides them.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import onnx

from embedpipe import contract
from embedpipe.runtime import open_session, run_one
from embedpipe.textclasses import CLASSES, classify

ALL = "all"


@dataclass(frozen=True)
class Mismatch:
    """One text whose tokenizer outputs differ; ids are the ``input_ids`` of both sides."""

    text: str
    graph_ids: list[int]
    reference_ids: list[int]


@dataclass
class ClassResult:
    """Texts and mismatches of one input class, with the first few mismatching examples."""

    name: str
    texts: int = 0
    mismatches: int = 0
    examples: list[Mismatch] = field(default_factory=list)

    @property
    def rate(self) -> float:
        return self.mismatches / self.texts if self.texts else 0.0


@dataclass
class TokenParityReport:
    """Per-class counts (a text counts in every class it belongs to, and in "all")."""

    max_length: int
    classes: dict[str, ClassResult]
    mismatches: list[Mismatch]  # every mismatching text, in input order

    def rows(self) -> list[tuple[str, int, int, float]]:
        """(class, texts, mismatches, rate) for each class that has texts, "all" last."""
        return [(r.name, r.texts, r.mismatches, r.rate) for r in self.classes.values() if r.texts]

    def to_dict(self) -> dict[str, Any]:
        return {
            "max_length": self.max_length,
            "classes": {
                r.name: {
                    "texts": r.texts,
                    "mismatches": r.mismatches,
                    "rate": r.rate,
                    "examples": [vars(m) for m in r.examples],
                }
                for r in self.classes.values() if r.texts
            },
        }

    def render(self) -> str:
        """A plain-text table, for logs and reports."""
        lines = [f"{'class':<20}{'texts':>8}{'differ':>8}{'rate':>9}"]
        lines += [f"{name:<20}{texts:>8,}{bad:>8,}{rate:>9.2%}" for name, texts, bad, rate in self.rows()]
        return "\n".join(lines)

    def rich_table(self) -> Any:
        """The same table as a ``rich.table.Table``, for the CLI."""
        from rich.table import Table

        table = Table(title=f"token-id parity (max_length {self.max_length})")
        for column in ("class", "texts", "differ", "rate"):
            table.add_column(column, justify="left" if column == "class" else "right")
        for name, texts, bad, rate in self.rows():
            table.add_row(name, f"{texts:,}", f"{bad:,}", f"{rate:.2%}")
        return table


def _load_reference(reference_tokenizer: Any) -> Any:
    if isinstance(reference_tokenizer, (str, Path)):
        from transformers import AutoTokenizer

        return AutoTokenizer.from_pretrained(str(reference_tokenizer))
    return reference_tokenizer


def _kept_tokens(outputs: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Each [1, S] output cut to the positions whose attention mask is 1."""
    kept = outputs[contract.ATTENTION_MASK][0] == 1
    return {name: value[:, kept] for name, value in outputs.items()}


def compare_token_ids(
    graph: onnx.ModelProto | str | Path,
    reference_tokenizer: Any,
    texts: Iterable[str],
    max_length: int,
    *,
    examples_per_class: int = 3,
) -> TokenParityReport:
    """Run the tokenizer-stage graph and the Hugging Face tokenizer (a tokenizer or its folder) on
    every text; a text mismatches when any output both produce differs (ids, mask, token types),
    compared on the positions the graph's attention mask keeps: a masked pad that stands in for a
    text with no token (an encoder cannot take S = 0) is not a token.
    """
    session = open_session(graph)
    reference = _load_reference(reference_tokenizer)
    results = {name: ClassResult(name) for name in (*CLASSES, ALL)}
    mismatches: list[Mismatch] = []
    for text in texts:
        expected = reference(text, truncation=True, max_length=max_length)
        got = _kept_tokens(run_one(session, text))
        differs = any(
            not np.array_equal(got[name][0], np.asarray(expected[name]))
            for name in contract.TOKENIZER_OUTPUTS if name in got and name in expected
        )
        long = len(expected[contract.INPUT_IDS]) == max_length and len(
            reference(text, truncation=False, verbose=False)[contract.INPUT_IDS]) > max_length
        if differs:
            mismatches.append(Mismatch(text, got[contract.INPUT_IDS][0].tolist(), list(expected[contract.INPUT_IDS])))
        for name in (*classify(text, over_max_tokens=long), ALL):
            result = results[name]
            result.texts += 1
            if differs:
                result.mismatches += 1
                if len(result.examples) < examples_per_class:
                    result.examples.append(mismatches[-1])
    return TokenParityReport(max_length, results, mismatches)
