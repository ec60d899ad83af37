"""What quantization costs: a quantized graph's outputs against its own fp32 graph, measured, not guessed.

Embeddings, two figures: the cosine of each vector to the fp32 one (min and mean over the validation
texts), and how well nearest-neighbour rankings survive (top-10 overlap on a retrieval set of 150
lines of real multilingual text shipped in ``embedpipe/data/retrieval.txt``, each line a query
against all the others). An export fails when the mean cosine drops below the floor.

Rerankers and classifiers, on the hard inputs validation uses (``scoring.hard_inputs``): max and
mean |score difference|, and an agreement the floor applies to. A reranker's is Spearman's rank
correlation of each query's passage scores (the pairs grouped by first text, queries with eight
passages or more), the least over the queries: it sees every swap, where "same order or not" would call one
swapped pair of near-equal passages as bad as a shuffled list. A classifier's is the share of
inputs whose argmax label is the fp32 graph's.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from importlib import resources
from typing import TYPE_CHECKING, Any

import numpy as np

from embedpipe import contract
from embedpipe.runtime import Inputs, embed, run_inputs

if TYPE_CHECKING:
    import onnxruntime as ort

TOP_K = 10
# A head's default floor on its agreement (quality_floor overrides it); measured in docs/rerankers.md.
HEAD_FLOORS = {contract.REGRESSION: 0.9, contract.CLASSIFICATION: 0.95}
SMALLEST_QUERY = 8  # passages a query needs before its order means something (the hard pairs have two such)


def retrieval_texts() -> list[str]:
    """The retrieval set: real lines (licences, manuals, calendars and country names in many scripts)."""
    text = resources.files("embedpipe.data").joinpath("retrieval.txt").read_text(encoding="utf-8")
    return [line for line in text.splitlines() if line.strip()]


@dataclass(frozen=True)
class QualityReport:
    """A quantized graph against its fp32 graph: sizes, per-line cosines, per-query top-k overlap."""

    quantizer: str
    floor: float
    weight_bytes: int
    fp32_weight_bytes: int
    cosines: np.ndarray
    overlaps: np.ndarray

    @property
    def mean_cosine(self) -> float:
        return float(self.cosines.mean())

    @property
    def ok(self) -> bool:
        return bool(np.isfinite(self.cosines).all()) and self.mean_cosine >= self.floor

    @property
    def shortfall(self) -> str:
        return f"mean cosine {self.mean_cosine:.5f} to the fp32 graph is below the floor {self.floor}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "quantizer": self.quantizer,
            "weight_bytes": self.weight_bytes,
            "fp32_weight_bytes": self.fp32_weight_bytes,
            "size_ratio": self.weight_bytes / self.fp32_weight_bytes,
            "lines": int(self.cosines.size),
            "min_cosine": float(self.cosines.min()),
            "mean_cosine": self.mean_cosine,
            "floor": self.floor,
            "queries": int(self.overlaps.size),
            f"mean_top{TOP_K}_overlap": float(self.overlaps.mean()),
            f"min_top{TOP_K}_overlap": float(self.overlaps.min()),
        }

    def summary(self) -> str:
        data = self.to_dict()
        verdict = "PASS" if self.ok else "FAIL"
        return (
            f"{self.quantizer} vs fp32: {verdict}  weights {self.weight_bytes / 1e6:.1f} MB "
            f"({data['size_ratio']:.0%} of {self.fp32_weight_bytes / 1e6:.1f} MB)  "
            f"cos min={data['min_cosine']:.5f} mean={data['mean_cosine']:.5f} (floor {self.floor})  "
            f"top-{TOP_K} overlap mean={data[f'mean_top{TOP_K}_overlap']:.3f} min={data[f'min_top{TOP_K}_overlap']:.1f} "
            f"over {data['queries']} queries"
        )


def cosines(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Row-wise cosine of two [N, D] arrays."""
    norms = np.maximum(np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1), 1e-30)
    return (a * b).sum(axis=1) / norms


def top_k_overlap(reference: np.ndarray, candidate: np.ndarray, k: int = TOP_K) -> np.ndarray:
    """Per query (each row against all other rows): the share of the reference's k nearest the candidate also ranks top k."""

    def neighbours(vectors: np.ndarray) -> np.ndarray:
        unit = vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-30)
        similarity = unit @ unit.T
        np.fill_diagonal(similarity, -np.inf)
        return np.argsort(-similarity, axis=1, kind="stable")[:, :k]

    want, got = neighbours(reference), neighbours(candidate)
    return np.array([len(set(w) & set(g)) / k for w, g in zip(want, got)])


def measure(
    fp32: ort.InferenceSession,
    quantized: ort.InferenceSession,
    texts: Sequence[str],
    *,
    quantizer: str,
    floor: float,
    weight_bytes: int,
    fp32_weight_bytes: int,
) -> QualityReport:
    """Embed ``texts`` and the retrieval set with both graphs; cosines over all lines, overlaps over the retrieval set."""
    corpus = retrieval_texts()
    lines = [*texts, *corpus]
    want, got = embed(fp32, lines), embed(quantized, lines)
    return QualityReport(
        quantizer=quantizer,
        floor=floor,
        weight_bytes=weight_bytes,
        fp32_weight_bytes=fp32_weight_bytes,
        cosines=cosines(want, got),
        overlaps=top_k_overlap(want[len(texts) :], got[len(texts) :]),
    )


@dataclass(frozen=True)
class HeadQualityReport:
    """A reranker's or classifier's quantized graph against its fp32 graph: score differences and agreement."""

    quantizer: str
    function: str
    floor: float
    weight_bytes: int
    fp32_weight_bytes: int
    want: np.ndarray  # the fp32 graph's rows [N, L]
    got: np.ndarray  # the quantized graph's rows [N, L]
    queries: tuple[np.ndarray, ...]  # a reranker's row indices per query (empty for a classifier)

    @property
    def agreement_name(self) -> str:
        return "min_spearman" if self.function == contract.REGRESSION else "same_label"

    @property
    def agreement(self) -> float:
        if self.function == contract.REGRESSION:
            return min(spearman(self.want[q, 0], self.got[q, 0]) for q in self.queries)
        return float((self.want.argmax(axis=1) == self.got.argmax(axis=1)).mean())

    @property
    def ok(self) -> bool:
        return bool(np.isfinite(self.got).all()) and self.agreement >= self.floor

    @property
    def shortfall(self) -> str:
        return f"{self.agreement_name} {self.agreement:.5f} to the fp32 graph is below the floor {self.floor}"

    def to_dict(self) -> dict[str, Any]:
        difference = np.abs(self.got - self.want)
        return {
            "ok": self.ok,
            "quantizer": self.quantizer,
            "function": self.function,
            "weight_bytes": self.weight_bytes,
            "fp32_weight_bytes": self.fp32_weight_bytes,
            "size_ratio": self.weight_bytes / self.fp32_weight_bytes,
            "lines": int(self.want.shape[0]),
            "max_difference": float(difference.max()),
            "mean_difference": float(difference.mean()),
            **({"queries": len(self.queries)} if self.queries else {}),
            self.agreement_name: self.agreement,
            "floor": self.floor,
        }

    def summary(self) -> str:
        data = self.to_dict()
        return (
            f"{self.quantizer} vs fp32 ({self.function}): {'PASS' if self.ok else 'FAIL'}  weights {self.weight_bytes / 1e6:.1f} MB "
            f"({data['size_ratio']:.0%} of {self.fp32_weight_bytes / 1e6:.1f} MB)  |diff| max={data['max_difference']:.2e} "
            f"mean={data['mean_difference']:.2e} over {data['lines']} inputs  {self.agreement_name}={self.agreement:.4f} (floor {self.floor})"
        )


def spearman(a: np.ndarray, b: np.ndarray) -> float:
    """Spearman's rank correlation, ties ranked by their mean; two constant lists agree (1.0)."""

    def ranks(values: np.ndarray) -> np.ndarray:
        order = np.empty(len(values))
        order[values.argsort(kind="stable")] = np.arange(len(values))
        _, tied = np.unique(values, return_inverse=True)
        return (np.bincount(tied, order) / np.bincount(tied))[tied]

    ra, rb = ranks(a) - ranks(a).mean(), ranks(b) - ranks(b).mean()
    scale = float(np.sqrt((ra * ra).sum() * (rb * rb).sum()))
    if scale == 0:
        return 1.0 if np.ptp(a) == np.ptp(b) == 0 else 0.0
    return float((ra * rb).sum() / scale)


def query_groups(inputs: Sequence[Inputs]) -> tuple[np.ndarray, ...]:
    """Row indices of the pairs sharing a first text, for each first text with enough passages to rank."""
    rows: dict[str, list[int]] = {}
    for index, pair in enumerate(inputs):
        rows.setdefault(pair[0], []).append(index)
    return tuple(np.array(r) for r in rows.values() if len(r) >= SMALLEST_QUERY)


def measure_head(
    fp32: ort.InferenceSession,
    quantized: ort.InferenceSession,
    inputs: Sequence[Inputs],
    *,
    function: str,
    quantizer: str,
    floor: float,
    weight_bytes: int,
    fp32_weight_bytes: int,
) -> HeadQualityReport:
    """Score ``inputs`` with both graphs; a reranker's queries are its pairs grouped by first text."""
    want = np.stack([run_inputs(fp32, i) for i in inputs]).astype(np.float64)
    got = np.stack([run_inputs(quantized, i) for i in inputs]).astype(np.float64)
    return HeadQualityReport(
        quantizer=quantizer,
        function=function,
        floor=floor,
        weight_bytes=weight_bytes,
        fp32_weight_bytes=fp32_weight_bytes,
        want=want,
        got=got,
        queries=query_groups(inputs) if function == contract.REGRESSION else (),
    )
