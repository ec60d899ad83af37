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
DISTANCE_METRICS = frozenset({"COSINE", "DOT", "EUCLIDEAN", "EUCLIDEAN_SQUARED", "MANHATTAN", "HAMMING", "JACCARD"})


@dataclass(frozen=True)
class GraphFacts:
    """The graph's single string input, its float32 embedding output and what embedpipe recorded in it."""

    input_name: str
    output_name: str
    dimension: int
    properties: dict[str, str]

    @property
    def settings(self) -> dict[str, Any]:
        try:
            return dict(json.loads(self.properties.get(contract.SETTINGS_KEY, "{}")))
        except (ValueError, TypeError):
            return {}


def graph_facts(session: ort.InferenceSession) -> GraphFacts:
    """Check the interface Oracle needs: one 1-D string input, a float32 [.., D] ``embedding`` output, D in 1..65535."""
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
    properties = dict(session.get_modelmeta().custom_metadata_map)
    return GraphFacts(inputs[0].name, output.name, dimension, properties)


def build_metadata(
    facts: GraphFacts,
    *,
    distance_metrics: Sequence[str] | None = None,
    languages: Sequence[str] | None = None,
) -> dict[str, Any]:
    """The JSON for LOAD_ONNX_MODEL: the three keys Oracle acts on plus the informational ones."""
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
