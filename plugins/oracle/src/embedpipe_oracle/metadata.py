"""What the graph offers Oracle, checked locally, and the metadata JSON that describes it.

The facts come from an ONNX Runtime session (names, types, shapes, metadata_props), so a 1 GB file
is never parsed a second time by ``onnx`` just to read its interface.
"""

from __future__ import annotations

import importlib.metadata
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import onnxruntime as ort
from embedpipe import contract

from embedpipe_oracle.errors import OracleSinkError

SQL_ATTRIBUTE = "DATA"  # the name SQL uses: VECTOR_EMBEDDING(model USING text AS DATA)
PAIR_ATTRIBUTES = ("DATA1", "DATA2")  # a pair's names: PREDICTION(model USING query AS DATA1, passage AS DATA2)
DISTANCE_METRICS = frozenset({"COSINE", "DOT", "EUCLIDEAN", "EUCLIDEAN_SQUARED", "MANHATTAN", "HAMMING", "JACCARD"})


@dataclass(frozen=True)
class GraphFacts:
    """The graph's string input(s), its float32 output and what embedpipe recorded in it.

    ``dimension`` is the output's width: the vector's for an embedding, 1 for a reranker, the
    number of labels for a classifier.
    """

    input_name: str
    output_name: str
    dimension: int
    properties: dict[str, str]
    function: str = contract.EMBEDDING_FUNCTION
    second_input: str | None = None  # a pair graph's second text
    labels: tuple[str, ...] = ()  # a classifier's, in label-id order

    @property
    def settings(self) -> dict[str, Any]:
        return _settings(self.properties)

    @property
    def attributes(self) -> dict[str, str]:
        """Graph input -> the SQL attribute name its text is passed as."""
        if self.second_input is None:
            return {self.input_name: SQL_ATTRIBUTE}
        return dict(zip((self.input_name, self.second_input), PAIR_ATTRIBUTES))


def _settings(properties: dict[str, str]) -> dict[str, Any]:
    try:
        return dict(json.loads(properties.get(contract.SETTINGS_KEY, "{}")))
    except (ValueError, TypeError):
        return {}


def graph_facts(session: ort.InferenceSession) -> GraphFacts:
    """Check the interface Oracle needs for the function the graph's settings record (default: embedding)."""
    properties = dict(session.get_modelmeta().custom_metadata_map)
    settings = _settings(properties)
    if settings.get("batch"):
        raise OracleSinkError(
            "the graph is the batched client-side graph, which Oracle does not call",
            "convert without --batch (batch=False) for the database",
        )
    function = settings.get("function", contract.EMBEDDING_FUNCTION)
    if function == contract.EMBEDDING_FUNCTION:
        return _embedding_facts(session, properties)
    if function in (contract.REGRESSION, contract.CLASSIFICATION):
        return _head_facts(session, properties, function)
    raise OracleSinkError(
        f"the graph's settings name function {function!r}, which Oracle does not load",
        f"convert with function {', '.join(contract.FUNCTIONS)}",
    )


def _embedding_facts(session: ort.InferenceSession, properties: dict[str, str]) -> GraphFacts:
    """One 1-D string input, a float32 [.., D] ``embedding`` output, D in 1..65535."""
    inputs, outputs = session.get_inputs(), session.get_outputs()
    if len(inputs) != 1 or inputs[0].type != "tensor(string)" or len(inputs[0].shape) != 1:
        found = ", ".join(f"{i.name} {i.type} {i.shape}" for i in inputs)
        raise OracleSinkError(
            f"the graph's inputs are [{found}]; Oracle needs exactly one 1-D string input",
            "load a graph embedpipe produced (input 'input': string [1]); a bare encoder takes token ids and is refused",
        )
    output = next((o for o in outputs if o.name == contract.EMBEDDING), outputs[0] if len(outputs) == 1 else None)
    if output is None or output.type != "tensor(float)":
        found = ", ".join(f"{o.name} {o.type}" for o in outputs)
        raise OracleSinkError(
            f"the graph has no float32 '{contract.EMBEDDING}' output (outputs: {found})",
            "load a graph embedpipe produced, whose output 'embedding' is float32 [1, D]",
        )
    dimension = output.shape[-1] if output.shape else None
    if not isinstance(dimension, int) or not 1 <= dimension <= contract.MAX_EMBEDDING_DIM:
        raise OracleSinkError(
            f"the embedding dimension is {dimension!r}; Oracle's VECTOR takes 1 to {contract.MAX_EMBEDDING_DIM}",
            "give the graph a fixed output dimension in range (change the Dense layers or truncation)",
        )
    return GraphFacts(inputs[0].name, output.name, dimension, properties)


def _head_facts(session: ort.InferenceSession, properties: dict[str, str], function: str) -> GraphFacts:
    """A reranker: the pair in, float32 [1, 1] ``logits`` out. A classifier: one text or the pair in,
    float32 [1, L] ``probabilities`` out, one label per column (Oracle's PREDICTION_PROBABILITY reads
    probabilities, so a classifier converted with raw logits is refused)."""
    names = tuple(i.name for i in session.get_inputs())
    allowed = [contract.PAIR_TEXTS] if function == contract.REGRESSION else [(contract.TEXT,), contract.PAIR_TEXTS]
    if names not in allowed or any(i.type != "tensor(string)" or len(i.shape) != 1 for i in session.get_inputs()):
        found = ", ".join(f"{i.name} {i.type} {i.shape}" for i in session.get_inputs())
        raise OracleSinkError(
            f"the {function} graph's inputs are [{found}]; "
            f"Oracle needs {' or '.join(' and '.join(a) for a in allowed)} (string [1])",
            "load the graph embedpipe wrote for this model, unchanged",
        )
    wanted = contract.LOGITS if function == contract.REGRESSION else contract.PROBABILITIES
    output = next((o for o in session.get_outputs() if o.name == wanted and o.type == "tensor(float)"), None)
    if output is None:
        found = ", ".join(f"{o.name} {o.type}" for o in session.get_outputs())
        fix = (
            f"reconvert with activation {contract.SOFTMAX} (Oracle's PREDICTION_PROBABILITY reads probabilities)"
            if function == contract.CLASSIFICATION
            else "load the graph embedpipe wrote for this reranker, unchanged"
        )
        raise OracleSinkError(f"the {function} graph has no float32 '{wanted}' output (outputs: {found})", fix)
    width = output.shape[-1] if output.shape else None
    labels = tuple(str(label) for label in _settings(properties).get("labels") or ())
    if function == contract.REGRESSION and width != 1:
        raise OracleSinkError(
            f"the reranker's '{wanted}' output is {width!r} wide; PREDICTION reads one score", "convert a model with one label"
        )
    if function == contract.CLASSIFICATION and (not isinstance(width, int) or len(labels) != width):
        raise OracleSinkError(
            f"the graph's settings name {len(labels)} labels but its '{wanted}' output has {width!r} columns",
            f"reconvert with {width} labels in label-id order (--label per class), "
            "or without labels to take the model's id2label",
        )
    second = names[1] if len(names) == 2 else None
    return GraphFacts(names[0], output.name, int(width), properties, function, second, labels)


def build_metadata(
    facts: GraphFacts,
    *,
    distance_metrics: Sequence[str] | None = None,
    languages: Sequence[str] | None = None,
) -> dict[str, Any]:
    """The JSON for LOAD_ONNX_MODEL: for an embedding the three keys Oracle acts on plus the
    informational ones; for a reranker or classifier exactly the keys Oracle documents for them."""
    if facts.function != contract.EMBEDDING_FUNCTION:
        if distance_metrics or languages:
            raise OracleSinkError(
                f"distance metrics and languages describe embedding models, not this {facts.function} graph",
                "drop --distance-metric and --language",
            )
        inputs = {name: [attribute] for name, attribute in facts.attributes.items()}
        if facts.function == contract.REGRESSION:
            return {"function": facts.function, "regressionOutput": facts.output_name, "input": inputs}
        return {
            "function": facts.function,
            "classificationProbOutput": facts.output_name,
            "labels": list(facts.labels),
            "input": inputs,
        }
    settings = facts.settings
    chain = settings.get("post_processors") or []
    pooling = next((p.get("type") for p in chain if str(p.get("name", "")).lower() == "pooling"), None)
    metadata: dict[str, Any] = {
        "function": "embedding",
        "embeddingOutput": facts.output_name,
        "input": {facts.input_name: [SQL_ATTRIBUTE]},
        "normalization": any(str(p.get("name", "")).lower() == "normalize" for p in chain),
        "suitableDistanceMetrics": _distance_metrics(distance_metrics or settings.get("distance_metrics") or ["COSINE"]),
        "modelDescription": _description(facts),
    }
    if isinstance(settings.get("max_seq_length"), int):
        metadata["maxSequenceLength"] = settings["max_seq_length"]
    if pooling:
        metadata["pooling"] = str(pooling)
    family = contract.TOKENIZER_STAGE_FAMILIES.get(settings.get("tokenizer"))
    if family in contract.ORACLE_TOKENIZER_NAMES:
        metadata["tokenizer"] = contract.ORACLE_TOKENIZER_NAMES[family]
    chosen_languages = languages or settings.get("languages")
    if chosen_languages:
        metadata["languages"] = [str(language) for language in chosen_languages]
    return metadata


def _distance_metrics(names: Sequence[str]) -> list[str]:
    chosen = [str(name).upper() for name in names]
    unknown = sorted(set(chosen) - DISTANCE_METRICS)
    if unknown:
        raise OracleSinkError(f"unknown distance metric(s) {', '.join(unknown)}", f"use {', '.join(sorted(DISTANCE_METRICS))}")
    return chosen


def _description(facts: GraphFacts) -> dict[str, str]:
    description = {"producer": f"embedpipe {importlib.metadata.version('embedpipe-core')}"}
    if contract.SOURCE_KEY in facts.properties:
        description["source"] = facts.properties[contract.SOURCE_KEY]
    return description
