"""After loading: the model is an ONNX embedding model, its output is VECTOR(D, FLOAT32), and it
gives the local graph's vectors for a few sample strings."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import onnxruntime as ort
from embedpipe.runtime import embed

from embedpipe_oracle.database import Database
from embedpipe_oracle.errors import VerificationError
from embedpipe_oracle.metadata import SQL_ATTRIBUTE

MIN_COSINE = 0.9999
# Short, but across scripts, case and accents: a tokenizer or pooling mix-up shows on at least one.
SAMPLES = (
    "hello world",
    "Oracle Database stores the vectors next to the rows they describe.",
    "Crème brûlée, naïve façade, ÅNGSTRÖM",
    "東京は日本の首都です。",
)
_VECTOR_INFO = re.compile(r"VECTOR\(\s*(\d+)\s*,\s*FLOAT32\s*\)", re.IGNORECASE)


@dataclass(frozen=True)
class Verification:
    """What was checked and the worst agreement seen."""

    dimension: int
    min_cosine: float
    samples: int


def verify(database: Database, name: str, *, dimension: int, expected: dict[str, np.ndarray]) -> Verification:
    """Raise VerificationError unless the database's model ``name`` matches the local graph."""
    found = database.model(name)
    if found is None or found[0].upper() != "EMBEDDING":
        raise VerificationError(
            f"after loading, USER_MINING_MODELS shows {name} as {found!r}, not an EMBEDDING model",
            "check the metadata's 'function' is 'embedding'",
        )
    attributes = {a.upper(): (t, v) for a, t, v in database.attributes(name)}
    vectors = [v for _, v in attributes.values() if v and _VECTOR_INFO.fullmatch(v.strip())]
    if (
        SQL_ATTRIBUTE not in attributes
        or len(vectors) != 1
        or int(_VECTOR_INFO.fullmatch(vectors[0].strip()).group(1)) != dimension
    ):
        raise VerificationError(
            f"after loading, {name}'s attributes are {sorted(attributes.items())}; expected input {SQL_ATTRIBUTE} and VECTOR({dimension}, FLOAT32)",
            "the metadata's 'input' and 'embeddingOutput' must name the graph's string input and float32 output",
        )
    cosines = []
    for text, want in expected.items():
        got = database.embed(name, text)
        if got.shape != want.shape:
            raise VerificationError(
                f"VECTOR_EMBEDDING({name}) gave {got.shape[0]} values for {text!r}, the local graph {want.shape[0]}",
                "the database did not load this graph: retry, and report the database version if it persists",
            )
        cosines.append(_cosine(got, want))
    worst = min(cosines, default=1.0)
    if worst < MIN_COSINE:
        text = list(expected)[int(np.argmin(cosines))]
        raise VerificationError(
            f"VECTOR_EMBEDDING({name}) differs from the local graph on {text!r} (cosine {worst:.6f} < {MIN_COSINE})",
            "the database runs the graph differently: run `bash scripts/compat FILE` for its ONNX Runtime version",
        )
    return Verification(dimension, worst, len(cosines))


def _cosine(a: np.ndarray, b: np.ndarray) -> float:
    norm = float(np.linalg.norm(a) * np.linalg.norm(b))
    return float(np.dot(a, b) / norm) if norm else (1.0 if not a.any() and not b.any() else 0.0)


def expected_vectors(session: ort.InferenceSession, texts: Sequence[str] = SAMPLES) -> dict[str, np.ndarray]:
    """The local graph's vectors for the samples, from an open session."""
    return dict(zip(texts, embed(session, texts)))
