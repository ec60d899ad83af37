"""What quantization costs: a quantized graph's outputs against its own fp32 graph, measured, not guessed.

Embeddings, two figures: the cosine of each vector to the fp32 one (min and mean over the validation
texts), and how well nearest-neighbour rankings survive (top-10 overlap on a retrieval set of 150
lines of real multilingual text shipped in ``embedpipe/data/retrieval.txt``, each line a query
against all the others). An export fails when the mean cosine drops below the quality floor or
the mean overlap below the neighbour floor. ``BodyCalibration`` hands a quantizer the same
measurement before the export, on the body alone, so it can search for the fastest body that
keeps both floors.

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
from functools import cached_property
from importlib import resources
from typing import TYPE_CHECKING, Any

import numpy as np

from embedpipe import contract
from embedpipe.runtime import Inputs, embed, run_inputs

if TYPE_CHECKING:
    import onnx
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
    neighbour_floor: float = 0.0
    kept_float: tuple[str, ...] = ()  # the body's nodes the quantizer left in float arithmetic

    @property
    def mean_cosine(self) -> float:
        return float(self.cosines.mean())

    @property
    def mean_overlap(self) -> float:
        return float(self.overlaps.mean())

    @property
    def ok(self) -> bool:
        return keeps_floors(self.cosines, self.overlaps, self.floor, self.neighbour_floor)

    @property
    def shortfall(self) -> str:
        if self.mean_cosine < self.floor or not np.isfinite(self.cosines).all():
            return f"mean cosine {self.mean_cosine:.5f} to the fp32 graph is below the floor {self.floor}"
        return f"mean top-{TOP_K} neighbour overlap {self.mean_overlap:.3f} with the fp32 graph is below the neighbour floor {self.neighbour_floor}"

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
            f"mean_top{TOP_K}_overlap": self.mean_overlap,
            f"min_top{TOP_K}_overlap": float(self.overlaps.min()),
            "neighbour_floor": self.neighbour_floor,
            "kept_float": list(self.kept_float),
        }

    def summary(self) -> str:
        data = self.to_dict()
        verdict = "PASS" if self.ok else "FAIL"
        return (
            f"{self.quantizer} vs fp32: {verdict}  weights {self.weight_bytes / 1e6:.1f} MB "
            f"({data['size_ratio']:.0%} of {self.fp32_weight_bytes / 1e6:.1f} MB)  "
            f"cos min={data['min_cosine']:.5f} mean={data['mean_cosine']:.5f} (floor {self.floor})  "
            f"top-{TOP_K} overlap mean={data[f'mean_top{TOP_K}_overlap']:.3f} min={data[f'min_top{TOP_K}_overlap']:.1f} "
            f"over {data['queries']} queries (floor {self.neighbour_floor})  kept in float: {len(self.kept_float)} nodes"
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
    neighbour_floor: float = 0.0,
    kept_float: tuple[str, ...] = (),
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
        neighbour_floor=neighbour_floor,
        kept_float=kept_float,
    )


def keeps_floors(found: np.ndarray, overlaps: np.ndarray, floor: float, neighbour_floor: float) -> bool:
    """The one rule an embedding's quantization is held to, by the export and by a quantizer's search:
    finite cosines ``found``, their mean at least ``floor``, mean top-k overlap at least ``neighbour_floor``."""
    return bool(np.isfinite(found).all()) and float(found.mean()) >= floor and float(overlaps.mean()) >= neighbour_floor


def body_feeds(tokenizer: ort.InferenceSession, inputs: Sequence[Inputs]) -> list[dict[str, np.ndarray]]:
    """The tokenizer stage's outputs (the body's inputs) for each text or pair, by name."""
    names, outputs = [i.name for i in tokenizer.get_inputs()], [o.name for o in tokenizer.get_outputs()]
    return [
        dict(zip(outputs, tokenizer.run(outputs, {n: np.array([t], dtype=object) for n, t in zip(names, one)}))) for one in inputs
    ]


def run_body(body: onnx.ModelProto, feeds: Sequence[dict[str, np.ndarray]]) -> np.ndarray:
    """The body's only output for each feed, one row each."""
    from embedpipe.runtime import open_session

    session = open_session(body)
    names = {i.name for i in session.get_inputs()}
    return np.concatenate([session.run(None, {k: v for k, v in f.items() if k in names})[0] for f in feeds])


class BodyCalibration:
    """Real inputs for a quantizer and the floors its body is held to, measured as ``measure`` will measure the export.

    An embedding body is checked on the validation texts and the retrieval set (mean cosine to the
    fp32 body, mean top-10 overlap over the retrieval set); a head's body has no such check here
    (its agreement floor is applied to the export), so any candidate is accepted.
    """

    def __init__(
        self,
        body: onnx.ModelProto,
        feeds: list[dict[str, np.ndarray]],
        *,
        floor: float | None = None,
        neighbour_floor: float = 0.0,
        retrieval_from: int = 0,
    ) -> None:
        self.feeds = feeds
        self.floor, self.neighbour_floor, self.retrieval_from = floor, neighbour_floor, retrieval_from
        self._fp32_body = body

    @cached_property
    def reference(self) -> np.ndarray:
        """The fp32 body's rows: run on the first check only (a quantizer that never asks pays nothing)."""
        return run_body(self._fp32_body, self.feeds)

    def accepts(self, body: onnx.ModelProto) -> bool:
        if self.floor is None:
            return True
        got = run_body(body, self.feeds)
        overlaps = top_k_overlap(self.reference[self.retrieval_from :], got[self.retrieval_from :])
        return keeps_floors(cosines(self.reference, got), overlaps, self.floor, self.neighbour_floor)


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
    kept_float: tuple[str, ...] = ()  # the body's nodes the quantizer left in float arithmetic

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
            "kept_float": list(self.kept_float),
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
    kept_float: tuple[str, ...] = (),
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
        kept_float=kept_float,
    )
