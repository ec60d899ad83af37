"""What quantization costs: a quantized graph's vectors against its own fp32 graph, measured, not guessed.

Two figures: the cosine of each vector to the fp32 one (min and mean over the validation texts),
and how well nearest-neighbour rankings survive (top-10 overlap on a retrieval set of 150 lines
of real multilingual text shipped in ``embedpipe/data/retrieval.txt``, each line a query
against all the others). An export fails when the mean cosine drops below the floor.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from importlib import resources
from typing import TYPE_CHECKING, Any

import numpy as np

from embedpipe.runtime import embed

if TYPE_CHECKING:
    import onnxruntime as ort

TOP_K = 10


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
