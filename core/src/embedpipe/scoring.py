"""Check a reranker's or classifier's graph against the real references, on hard inputs.

Regression graphs are held to sentence-transformers' ``CrossEncoder.predict`` with the same
activation, classification graphs to the transformers model's logits under the same activation
(softmax by default); both tokenize with the model's own tokenizer, truncated as the graph is.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from embedpipe import contract
from embedpipe.components import Limitation
from embedpipe.runtime import Inputs, run_inputs
from embedpipe.samples import SAMPLES

if TYPE_CHECKING:
    import onnxruntime as ort

    from embedpipe.config import Head, Settings
    from embedpipe.source import ModelSource

MAX_SCORE_DIFFERENCE = 1e-4
QUERY = "How do I reset my password?"


def hard_inputs(pair: bool) -> list[Inputs]:
    """The built-in hard strings, alone or paired by ``pairs_of``."""
    return pairs_of(SAMPLES) if pair else [(text,) for text in SAMPLES]


def pairs_of(texts: Sequence[str]) -> list[Inputs]:
    """Hard pairs from hard texts: one query over every text (the ranking group), every text against
    "" and whitespace, neighbours paired with each other, and the first and last long texts together."""
    long_texts = [t for t in texts if len(t) > 1000]
    return (
        [(QUERY, text) for text in texts]
        + [(text, blank) for text in texts for blank in ("", " \t\n")]
        + [("", text) for text in texts[:8]]
        + list(zip(texts, texts[1:]))
        + ([(long_texts[0], long_texts[-1])] if long_texts else [])
    )


def reference_scores(source: ModelSource, settings: Settings, inputs: Sequence[Inputs]) -> np.ndarray:
    """The references' rows [N, L]: CrossEncoder.predict for a reranker, transformers for a classifier."""
    import torch

    head = settings.head
    assert head is not None
    activation = {
        contract.IDENTITY: torch.nn.Identity(),
        contract.SIGMOID: torch.nn.Sigmoid(),
        contract.SOFTMAX: torch.nn.Softmax(dim=-1),
    }[head.activation]
    if head.function == contract.REGRESSION:
        from sentence_transformers import CrossEncoder

        model = CrossEncoder(str(source.path), device="cpu", max_length=settings.max_seq_length, trust_remote_code=source.trust_remote_code)
        scores = model.predict([list(pair) for pair in inputs], activation_fn=activation, batch_size=16, convert_to_numpy=True)
        return np.asarray(scores, dtype=np.float64).reshape(len(inputs), 1)
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(str(source.path), trust_remote_code=source.trust_remote_code)
    network = AutoModelForSequenceClassification.from_pretrained(
        str(source.path), use_safetensors=True, trust_remote_code=source.trust_remote_code
    ).eval()
    rows = []
    with torch.no_grad():
        for texts in inputs:
            # A batch of one, as CrossEncoder tokenizes: a single call drops an empty second text (text_pair="" is falsy).
            encoded = tokenizer(*([t] for t in texts), truncation=True, max_length=settings.max_seq_length, return_tensors="pt")
            rows.append(activation(network(**encoded).logits)[0].double().numpy())
    return np.stack(rows)


@dataclass
class ScoreLine:
    inputs: Inputs
    got: np.ndarray
    want: np.ndarray
    error: str = ""
    limitation: str = ""  # a declared tokenizer limitation one of the texts falls under: a difference is forgiven

    @property
    def difference(self) -> float:
        return float(np.max(np.abs(self.got - self.want))) if not self.error else float("nan")

    @property
    def preview(self) -> str:
        return " | ".join(repr(t if len(t) <= 30 else f"{t[:27]}... ({len(t)} chars)") for t in self.inputs)


@dataclass
class ScoreReport:
    """Per-line |graph - reference|, and whether one query ranks its passages as the reference does."""

    tolerance: float
    results: list[ScoreLine] = field(default_factory=list)
    ranking_ok: bool = True  # True where no ranking is checked (classification)

    @property
    def failures(self) -> list[ScoreLine]:
        return [r for r in self.results if r.error or not (r.difference <= self.tolerance or r.limitation)]

    @property
    def forgiven(self) -> list[ScoreLine]:
        return [r for r in self.results if not r.error and r.limitation and not r.difference <= self.tolerance]

    @property
    def ok(self) -> bool:
        return not self.failures and self.ranking_ok

    @property
    def max_difference(self) -> float | None:
        """The largest |graph - reference| outside declared limitations (those lines are counted apart)."""
        found = [r.difference for r in self.results if not r.error and not r.limitation]
        return max(found) if found else None

    def to_dict(self) -> dict[str, Any]:
        worst = sorted((r for r in self.results if not r.error and not r.limitation), key=lambda r: -r.difference)[:5]
        return {
            "ok": self.ok,
            "lines": len(self.results),
            "tolerance": self.tolerance,
            "max_abs_difference": self.max_difference,
            "ranking_ok": self.ranking_ok,
            "failures": len(self.failures),
            "forgiven_by_declared_limitation": len(self.forgiven),
            "errors": [{"inputs": r.preview, "error": r.error} for r in self.results if r.error],
            "worst": [{"inputs": r.preview, "difference": r.difference} for r in worst],
        }

    def summary(self) -> str:
        data = self.to_dict()
        diff = "n/a" if data["max_abs_difference"] is None else f"{data['max_abs_difference']:.2e}"
        lines = [
            f"parity vs reference scores: {'PASS' if self.ok else 'FAIL'}  lines={data['lines']}  max |diff|={diff} "
            f"(tolerance {self.tolerance})  ranking: {'same' if self.ranking_ok else 'DIFFERS'}  failures: {data['failures']}"
            f"  forgiven (declared limitations): {len(self.forgiven)}"
        ]
        lines += [f"  worst: {row['difference']:.2e}  {row['inputs']}" for row in data["worst"][:3]]
        lines += [f"  error: {row['error']}  {row['inputs']}" for row in data["errors"][:3]]
        return "\n".join(lines)


def same_ranking(got: np.ndarray, want: np.ndarray, tolerance: float) -> bool:
    """Every two passages the reference tells apart by more than twice the tolerance keep their order
    (closer ones are ties within what the comparison allows anyway)."""
    apart = np.abs(want[:, None] - want[None, :]) > 2 * tolerance
    return bool(np.all((np.sign(got[:, None] - got[None, :]) == np.sign(want[:, None] - want[None, :]))[apart]))


def compare_scores(
    session: ort.InferenceSession,
    head: Head,
    inputs: Sequence[Inputs],
    expected: np.ndarray,
    *,
    limitations: Sequence[Limitation] = (),
    tolerance: float = MAX_SCORE_DIFFERENCE,
) -> ScoreReport:
    """Each line's graph output against the reference's row; the ranking of the ``QUERY`` group for a reranker.

    A line with a text under one of the tokenizer's declared ``limitations`` may differ (as in the
    embedding comparison); it is counted apart and left out of the ranking.
    """
    report = ScoreReport(tolerance=tolerance)
    for texts, want in zip(inputs, expected):
        try:
            got = run_inputs(session, texts).astype(np.float64)
        except Exception as exc:  # an ORT failure on one line is a finding, not a crash
            report.results.append(ScoreLine(texts, np.zeros(0), want, error=str(exc).splitlines()[0]))
            continue
        error = "" if got.shape == want.shape and np.all(np.isfinite(got)) else f"graph gives {got.shape} {got[:3]}, reference {want.shape}"
        declared = next((lim.name for lim in limitations for text in texts if lim.matches(text)), "")
        report.results.append(ScoreLine(texts, got, want, error=error, limitation=declared))
    if head.function == contract.REGRESSION:
        group = [r for r in report.results if len(r.inputs) == 2 and r.inputs[0] == QUERY and not r.error and not r.limitation]
        if group:
            report.ranking_ok = same_ranking(np.array([r.got[0] for r in group]), np.array([r.want[0] for r in group]), tolerance)
    return report
