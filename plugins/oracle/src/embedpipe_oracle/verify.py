"""After loading: the model has the graph's mining function and attributes, and gives the local
graph's answers for a few samples (vectors for an embedding, PREDICTION for a reranker,
PREDICTION and PREDICTION_PROBABILITY for a classifier)."""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np
import onnxruntime as ort
from embedpipe import contract
from embedpipe.runtime import embed, run_inputs

from embedpipe_oracle.database import Database
from embedpipe_oracle.errors import VerificationError
from embedpipe_oracle.metadata import SQL_ATTRIBUTE, GraphFacts

MIN_COSINE = 0.9999
MAX_DIFFERENCE = 1e-4  # a score's or probability's, relative to the score above 1
# Short, but across scripts, case and accents: a tokenizer or pooling mix-up shows on at least one.
SAMPLES = (
    "hello world",
    "Oracle Database stores the vectors next to the rows they describe.",
    "Crème brûlée, naïve façade, ÅNGSTRÖM",
    "東京は日本の首都です。",
)
# Oracle's own reranker example first; then a relevant passage and a pair across scripts.
PAIRS = (
    ("what is panda?", "hi"),
    ("what is panda?", "The giant panda is a bear native to south central China."),
    (SAMPLES[2], SAMPLES[3]),
)
_RUNS_DIFFERENTLY = "the database runs the graph differently: run `bash scripts/compat FILE` for its ONNX Runtime version"
_VECTOR_INFO = re.compile(r"VECTOR\(\s*(\d+)\s*,\s*FLOAT32\s*\)", re.IGNORECASE)

Sample = tuple[str, ...]  # one text, or a (first, second) pair


@dataclass(frozen=True)
class Expected:
    """The local graph's output row per sample: a vector, a reranker's [logit] or a classifier's probabilities."""

    facts: GraphFacts
    rows: dict[Sample, np.ndarray]

    def label(self, row: np.ndarray) -> str:
        return self.facts.labels[int(np.argmax(row))]


@dataclass(frozen=True)
class Verification:
    """What was checked and the worst agreement seen (cosine for vectors, difference for scores)."""

    function: str
    dimension: int
    min_cosine: float | None
    max_difference: float | None
    samples: int


def expected_rows(session: ort.InferenceSession, facts: GraphFacts) -> Expected:
    """The local graph's answers for the samples its function takes, from an open session."""
    if facts.function == contract.EMBEDDING_FUNCTION:
        return Expected(facts, {(text,): row for text, row in zip(SAMPLES, embed(session, SAMPLES))})
    samples = PAIRS if facts.second_input else [(text,) for text in SAMPLES]
    return Expected(facts, {sample: run_inputs(session, sample) for sample in samples})


def verify(database: Database, name: str, expected: Expected) -> Verification:
    """Raise VerificationError unless the database's model ``name`` matches the local graph."""
    facts = expected.facts
    kind = facts.function.upper()
    found = database.model(name)
    if found is None or found[0].upper() != kind:
        raise VerificationError(
            f"after loading, USER_MINING_MODELS shows {name} as {found!r}, not an {kind} model",
            f"check the metadata's 'function' is '{facts.function}'",
        )
    if facts.function == contract.EMBEDDING_FUNCTION:
        return _verify_vectors(database, name, expected)
    attributes = sorted(str(a).upper() for a, _, _ in database.attributes(name))
    if attributes != sorted(facts.attributes.values()):
        raise VerificationError(
            f"after loading, {name}'s attributes are {attributes}; expected {sorted(facts.attributes.values())}",
            "the metadata's 'input' must map each of the graph's string inputs to its attribute",
        )
    if facts.function == contract.REGRESSION:
        return _verify_scores(database, name, expected)
    return _verify_classes(database, name, expected)


def _verify_vectors(database: Database, name: str, expected: Expected) -> Verification:
    dimension = expected.facts.dimension
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
    for (text,), want in expected.rows.items():
        got = database.embed(name, text)
        if got.shape != want.shape:
            raise VerificationError(
                f"VECTOR_EMBEDDING({name}) gave {got.shape[0]} values for {text!r}, the local graph {want.shape[0]}",
                "the database did not load this graph: retry, and report the database version if it persists",
            )
        cosines.append(_cosine(got, want))
    worst = min(cosines, default=1.0)
    if worst < MIN_COSINE:
        text = list(expected.rows)[int(np.argmin(cosines))][0]
        raise VerificationError(
            f"VECTOR_EMBEDDING({name}) differs from the local graph on {text!r} (cosine {worst:.6f} < {MIN_COSINE})",
            _RUNS_DIFFERENTLY,
        )
    return Verification(contract.EMBEDDING_FUNCTION, dimension, worst, None, len(cosines))


def _verify_scores(database: Database, name: str, expected: Expected) -> Verification:
    """PREDICTION of each pair is the graph's logit, within MAX_DIFFERENCE (relative above 1)."""
    differences = []
    for sample, want in expected.rows.items():
        got = database.predict(name, _using(expected, sample))
        differences.append(_difference(got, float(want[0]), "PREDICTION", name, sample))
    return Verification(contract.REGRESSION, 1, None, max(differences, default=0.0), len(differences))


def _verify_classes(database: Database, name: str, expected: Expected) -> Verification:
    """PREDICTION is the graph's most probable label; PREDICTION_PROBABILITY its probability."""
    differences = []
    for sample, want in expected.rows.items():
        using = _using(expected, sample)
        label = database.predict(name, using)
        if label != expected.label(want):
            raise VerificationError(
                f"PREDICTION({name}) gives {label!r} for {sample!r}, the local graph {expected.label(want)!r}",
                "the metadata's 'labels' must list the graph's labels in label-id order; " + _RUNS_DIFFERENTLY,
            )
        got = database.predict(name, using, probability=True)
        differences.append(_difference(got, float(np.max(want)), "PREDICTION_PROBABILITY", name, sample))
    return Verification(contract.CLASSIFICATION, expected.facts.dimension, None, max(differences, default=0.0), len(differences))


def _using(expected: Expected, sample: Sample) -> dict[str, str]:
    """SQL attribute -> text for one sample."""
    return dict(zip(expected.facts.attributes.values(), sample))


def _difference(got: object, want: float, function: str, name: str, sample: Sample) -> float:
    """|got - want|, relative to |want| above 1; over MAX_DIFFERENCE (or no number) is a VerificationError."""
    try:
        difference = abs(float(got) - want) / max(1.0, abs(want))  # type: ignore[arg-type]
    except (TypeError, ValueError):
        difference = float("inf")
    if not difference <= MAX_DIFFERENCE:
        raise VerificationError(
            f"{function}({name}) gives {got!r} for {sample!r}, the local graph {want:.6g} (difference over {MAX_DIFFERENCE})",
            _RUNS_DIFFERENTLY,
        )
    return difference


def _cosine(a: np.ndarray, b: np.ndarray) -> float:
    norm = float(np.linalg.norm(a) * np.linalg.norm(b))
    return float(np.dot(a, b) / norm) if norm else (1.0 if not a.any() and not b.any() else 0.0)
