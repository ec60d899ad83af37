"""Check a produced graph against the real reference: sentence-transformers on the same model.

The reference is assembled from sentence-transformers' own modules (Transformer, the pooler's and
post-processors' reference modules), configured as the graph was, so what is compared is the
whole string-to-vector path, not the graph against itself.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from embedpipe import contract
from embedpipe.components import Limitation, Pooler, PostProcessor
from embedpipe.runtime import embed

if TYPE_CHECKING:
    import onnxruntime as ort
    from sentence_transformers import SentenceTransformer

    from embedpipe.config import Settings
    from embedpipe.source import ModelSource

FP32_MIN_COSINE = 0.9999
_SHOWN = 5


def reference_model(
    source: ModelSource, settings: Settings, pooler: Pooler, post_processors: Sequence[PostProcessor]
) -> SentenceTransformer:
    """sentence-transformers configured exactly as the graph: same length, pooling and post chain."""
    from sentence_transformers import SentenceTransformer
    from sentence_transformers.sentence_transformer.modules import Transformer

    processor_kwargs: dict[str, Any] = {}
    if settings.do_lower_case is not None:
        processor_kwargs["do_lower_case"] = settings.do_lower_case
    transformer = Transformer(
        str(source.path),
        max_seq_length=settings.max_seq_length,
        model_kwargs={"use_safetensors": True, "trust_remote_code": source.trust_remote_code},
        processor_kwargs=processor_kwargs or None,
    )
    modules = [transformer, pooler.reference_module(source.hidden_size)]
    dim = source.hidden_size
    for post in post_processors:
        modules.append(post.reference_module(dim))
        dim = post.output_dim(dim)
    return SentenceTransformer(modules=modules, device="cpu")


@dataclass
class LineResult:
    text: str
    cosine: float
    error: str = ""
    limitation: str = ""

    @property
    def preview(self) -> str:
        flat = self.text.encode("unicode_escape").decode("ascii") if not self.text.isprintable() else self.text
        return flat if len(flat) <= 60 else f"{flat[:57]}... ({len(self.text)} chars)"


@dataclass
class ValidationReport:
    """What the comparison found; ``ok`` is False on any error, non-finite output or unforgiven drift."""

    threshold: float
    results: list[LineResult] = field(default_factory=list)
    limitations: Sequence[Limitation] = ()

    @property
    def cosines(self) -> np.ndarray:
        return np.array([r.cosine for r in self.results if not r.error], dtype=np.float64)

    @property
    def errors(self) -> list[LineResult]:
        return [r for r in self.results if r.error]

    @property
    def below(self) -> list[LineResult]:
        return [r for r in self.results if not r.error and not r.cosine >= self.threshold]

    @property
    def failures(self) -> list[LineResult]:
        return self.errors + [r for r in self.below if not r.limitation]

    @property
    def forgiven(self) -> list[LineResult]:
        return [r for r in self.below if r.limitation]

    @property
    def ok(self) -> bool:
        return not self.failures

    def worst(self, n: int = _SHOWN) -> list[LineResult]:
        return sorted((r for r in self.results if not r.error), key=lambda r: r.cosine)[:n]

    @property
    def min_cosine_outside_declared(self) -> float | None:
        """The least cosine over the lines no declared limitation forgives: the figure that proves the
        conversion (``min_cosine`` includes the declared lines, whose gap is reported separately)."""
        forgiven = {id(r) for r in self.forgiven}
        kept = [r.cosine for r in self.results if not r.error and id(r) not in forgiven]
        return float(min(kept)) if kept else None

    def to_dict(self) -> dict[str, Any]:
        cos = self.cosines
        return {
            "ok": self.ok,
            "lines": len(self.results),
            "threshold": self.threshold,
            "min_cosine": float(cos.min()) if cos.size else None,
            "min_cosine_outside_declared": self.min_cosine_outside_declared,
            "mean_cosine": float(cos.mean()) if cos.size else None,
            "below_threshold": len(self.below),
            "errors": [{"text": r.preview, "error": r.error} for r in self.errors],
            "forgiven_by_declared_limitation": {
                lim.name: {
                    "lines": sum(r.limitation == lim.name for r in self.forgiven),
                    "measured_rate": lim.measured_rate,
                    "description": lim.description,
                }
                for lim in self.limitations
            },
            "worst": [{"text": r.preview, "cosine": r.cosine, "limitation": r.limitation} for r in self.worst()],
        }

    def summary(self) -> str:
        """A few lines for a terminal: counts, min cosine, the worst lines."""
        data = self.to_dict()
        verdict = "PASS" if self.ok else "FAIL"
        lines = [
            f"parity vs sentence-transformers: {verdict}  lines={data['lines']}  min cos={_fmt(data['min_cosine'])}"
            + (f" ({_fmt(data['min_cosine_outside_declared'])} outside declared limitations)" if self.forgiven else "")
            + f"  mean cos={_fmt(data['mean_cosine'])}  below {self.threshold}: {data['below_threshold']}  errors: {len(self.errors)}"
        ]
        for name, info in data["forgiven_by_declared_limitation"].items():
            if info["lines"]:
                lines.append(f"  declared limitation {name}: {info['lines']} lines (measured rate {info['measured_rate']})")
        for row in data["worst"][:3]:
            lines.append(f"  worst: cos={row['cosine']:.6f}  {row['text']!r}")
        for row in data["errors"][:3]:
            lines.append(f"  error: {row['error']}  {row['text']!r}")
        return "\n".join(lines)


def _one_batch(session: ort.InferenceSession, texts: Sequence[str]) -> np.ndarray | None:
    """Every text's row from one call of a batched graph; None for a single-string graph or a failed call."""
    if not texts or isinstance(session.get_inputs()[0].shape[0], int):
        return None
    try:
        return session.run([contract.EMBEDDING], {contract.TEXT: np.array(list(texts), dtype=object)})[0]
    except Exception:  # the per-text runs find and report the failing line
        return None


def _cosine(got: np.ndarray, want: np.ndarray) -> float:
    """Cosine of two vectors; two all-zero vectors (a text with no token, e.g. "" for GPT2) agree."""
    norms = float(np.linalg.norm(got) * np.linalg.norm(want))
    if norms == 0.0:
        return 1.0 if not got.any() and not want.any() else 0.0
    return float(np.dot(got, want) / norms)


def _fmt(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.6f}"


def reference_vectors(reference: SentenceTransformer, texts: Sequence[str], *, prefix: str = "") -> np.ndarray:
    """sentence-transformers' vector of every text, float32 [len(texts), D], in the texts' order.

    ``prefix`` is the prompt the graph puts before every input; the reference gets it the way
    ``SentenceTransformer.encode(prompt=...)`` does, as part of the text. ``encode`` pads each
    batch to its longest text, and the built-in samples mix a few texts at the maximum length
    with many short ones: in batches of 16 most of the reference's time went into padding. So
    texts are sorted by their token count (the reference's own tokenizer, truncated as it
    truncates) and batched while a batch stays within one maximum-length text's worth of tokens;
    every text is still encoded by ``encode``, alone or beside texts of about its length.
    """
    prompted = [prefix + text for text in texts]
    if not prompted:
        return np.zeros((0, 0), dtype=np.float32)
    counts = reference.preprocess(prompted)["attention_mask"].sum(dim=1).tolist()
    budget = reference.max_seq_length or max(counts)
    batches: list[list[int]] = []
    for index in sorted(range(len(prompted)), key=counts.__getitem__):
        if batches and counts[index] * (len(batches[-1]) + 1) <= budget:
            batches[-1].append(index)
        else:
            batches.append([index])
    rows: list[np.ndarray] = [np.empty(0)] * len(prompted)
    for batch in batches:
        vectors = reference.encode([prompted[i] for i in batch], batch_size=len(batch), convert_to_numpy=True, show_progress_bar=False)
        for index, vector in zip(batch, vectors):
            rows[index] = vector
    return np.stack(rows)


def compare(
    session: ort.InferenceSession,
    expected: np.ndarray,
    texts: Sequence[str],
    *,
    limitations: Sequence[Limitation] = (),
    threshold: float = FP32_MIN_COSINE,
) -> ValidationReport:
    """Run every text through the graph; cosine per line against ``expected`` (``reference_vectors``' rows).

    The reference's vectors come in computed beforehand, so the reference model is gone before
    the graph's session opens (the two are never in memory together). A batched graph gets all
    texts in one call, so what is checked is each row of a batch mixing every length; if that
    call fails, each text alone says which line fails.
    """
    report = ValidationReport(threshold=threshold, limitations=limitations)
    rows = _one_batch(session, texts)
    for index, (text, want) in enumerate(zip(texts, expected, strict=True)):
        try:
            got = rows[index] if rows is not None else embed(session, [text])[0]
        except Exception as exc:  # an ORT failure on one line is a finding, not a crash
            report.results.append(LineResult(text, float("nan"), error=str(exc).splitlines()[0]))
            continue
        if got.shape != want.shape:
            report.results.append(LineResult(text, float("nan"), error=f"graph gives dimension {got.shape[0]}, reference {want.shape[0]}"))
            continue
        if not np.all(np.isfinite(got)):
            report.results.append(LineResult(text, float("nan"), error="non-finite output"))
            continue
        cosine = _cosine(got, want)
        declared = next((lim.name for lim in limitations if lim.matches(text)), "")
        report.results.append(LineResult(text, cosine, limitation=declared))
    return report
