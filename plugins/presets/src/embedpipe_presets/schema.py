"""What a preset must say, and the check every preset passes.

Keys without a leading underscore are ``ONNXPipelineConfig`` properties and feed the config; keys
with one are facts the config drops but ``show_preconfigured(include_properties=True)`` shows.
``_source`` maps every other key to the file or model card it was read from. An embedding model's
preset is a ``PresetSpec``; a reranker's or classifier's (it names a ``function``) a ``HeadPresetSpec``.
"""

# No ``from __future__ import annotations``: TypedDict must see NotRequired to compute __required_keys__.
from typing import Any, NotRequired, TypedDict

from embedpipe import contract


class DenseSpec(TypedDict):
    """One sentence-transformers Dense module, as its ``N_Dense/config.json`` declares it."""

    in_features: int
    out_features: int
    activation_function: str


class PresetSpec(TypedDict):
    max_seq_length: int
    pooling: str
    normalize: bool
    distance_metrics: list[str]
    languages: list[str]
    do_lower_case: NotRequired[bool]  # WordPiece only: what the tokenizer's normalizer does
    prompts: NotRequired[dict[str, str]]  # named prompts; none of these models declares a default one
    _source: dict[str, str]
    _architecture: str  # config.json model_type
    _tokenizer_family: str  # one of contract.TOKENIZER_FAMILIES
    _embedding_dim: int
    _dense: NotRequired[list[DenseSpec]]
    _matryoshka_dims: NotRequired[list[int]]
    _remote_code: NotRequired[bool]  # the architecture's code lives in the model repository, not in transformers


class HeadPresetSpec(TypedDict):
    """A ``*ForSequenceClassification`` model: no pooling, Normalize or metrics, a head instead."""

    function: str  # contract.REGRESSION (one label: a reranker) or contract.CLASSIFICATION
    max_seq_length: int
    do_lower_case: NotRequired[bool]  # WordPiece only, as in PresetSpec
    labels: NotRequired[list[str]]  # classification only: config.json id2label, in label-id order
    _source: dict[str, str]
    _architecture: str  # config.json model_type
    _tokenizer_family: str  # one of contract.TOKENIZER_FAMILIES
    _num_labels: int  # the head's outputs (config.json id2label)


HEAD_FUNCTIONS = (contract.REGRESSION, contract.CLASSIFICATION)
POOLINGS = frozenset({"mean", "cls", "max", "lasttoken"})
# Oracle's VECTOR_DISTANCE metrics that rank embeddings meaningfully; DOT and EUCLIDEAN only rank
# like COSINE when every vector has unit length.
UNIT_VECTOR_METRICS = ("COSINE", "DOT", "EUCLIDEAN")
ANY_VECTOR_METRICS = ("COSINE",)
ORACLE_MAX_DIMENSION = 65535  # ORA-51801 above it
# model_type values whose modelling code transformers itself ships.
STANDARD_ARCHITECTURES = frozenset({"bert", "distilbert", "mpnet", "roberta", "xlm-roberta"})


def check_preset(name: str, spec: dict[str, Any]) -> list[str]:
    """Every way ``spec`` breaks its schema (a head's when it names a function), one sentence each;
    empty when it is sound."""
    schema, checks = (HeadPresetSpec, _check_head) if "function" in spec else (PresetSpec, _check_embedding)
    problems = [f"{name}: unknown key {k!r}" for k in sorted(set(spec) - set(schema.__annotations__))]
    problems += [f"{name}: missing {k!r}" for k in sorted(schema.__required_keys__ - set(spec))]
    if problems:
        return problems
    problems += checks(name, spec)
    if ("do_lower_case" in spec) != (spec["_tokenizer_family"] == contract.WORDPIECE):
        problems.append(f"{name}: do_lower_case belongs exactly to WordPiece tokenizers")
    unsourced = set(spec) - {"_source"} - set(spec["_source"])
    problems += [f"{name}: no source for {k!r}" for k in sorted(unsourced)]
    problems += [f"{name}: source of {k!r} is not a citation" for k, v in spec["_source"].items() if not v.startswith("https://")]
    return problems


def _check_embedding(name: str, spec: dict[str, Any]) -> list[str]:
    return _check_shapes(name, spec) + _check_consistency(name, spec)


def _check_head(name: str, spec: dict[str, Any]) -> list[str]:
    """The head's function agrees with its label count, and only a classifier names its labels."""
    checks = {
        "function": spec["function"] in HEAD_FUNCTIONS,
        "max_seq_length": _whole(spec["max_seq_length"]) and spec["max_seq_length"] >= 2,
        "do_lower_case": isinstance(spec.get("do_lower_case", False), bool),
        "labels": "labels" not in spec or (_strings(spec["labels"]) and len(set(spec["labels"])) == len(spec["labels"])),
        "_tokenizer_family": spec["_tokenizer_family"] in contract.TOKENIZER_FAMILIES,
        "_architecture": spec["_architecture"] in STANDARD_ARCHITECTURES,
        "_num_labels": _whole(spec["_num_labels"]) and spec["_num_labels"] >= 1,
    }
    problems = [f"{name}: {key} has an impossible value" for key, ok in checks.items() if not ok]
    if problems:
        return problems
    if (spec["function"] == contract.REGRESSION) != (spec["_num_labels"] == 1):
        problems.append(f"{name}: a regression head has exactly one label, a classification head two or more")
    if spec["function"] == contract.CLASSIFICATION and len(spec.get("labels", [])) != spec["_num_labels"]:
        problems.append(f"{name}: a classifier names each of its {spec['_num_labels']} labels")
    if spec["function"] == contract.REGRESSION and "labels" in spec:
        problems.append(f"{name}: a regression head has no labels")
    return problems


def _check_shapes(name: str, spec: dict[str, Any]) -> list[str]:
    checks = {
        "max_seq_length": _whole(spec["max_seq_length"]) and spec["max_seq_length"] >= 2,
        "pooling": spec["pooling"] in POOLINGS,
        "normalize": isinstance(spec["normalize"], bool),
        "languages": bool(spec["languages"]) and _strings(spec["languages"]) and all(c == c.lower() for c in spec["languages"]),
        "do_lower_case": isinstance(spec.get("do_lower_case", False), bool),
        "prompts": _prompts(spec.get("prompts", {})),
        "_tokenizer_family": spec["_tokenizer_family"] in contract.TOKENIZER_FAMILIES,
        "_architecture": isinstance(spec["_architecture"], str) and bool(spec["_architecture"]),
        "_embedding_dim": _whole(spec["_embedding_dim"]) and 1 <= spec["_embedding_dim"] <= ORACLE_MAX_DIMENSION,
        "_dense": all(set(d) == set(DenseSpec.__annotations__) for d in spec.get("_dense", [])),
        "_matryoshka_dims": all(_whole(d) for d in spec.get("_matryoshka_dims", [])),
        "_remote_code": spec.get("_remote_code", True) is True,
    }
    return [f"{name}: {key} has an impossible value" for key, ok in checks.items() if not ok]


def _check_consistency(name: str, spec: dict[str, Any]) -> list[str]:
    problems = []
    metrics = ANY_VECTOR_METRICS + UNIT_VECTOR_METRICS[1:] if spec["normalize"] else ANY_VECTOR_METRICS
    if not spec["distance_metrics"] or not set(spec["distance_metrics"]) <= set(metrics):
        problems.append(f"{name}: distance_metrics {spec['distance_metrics']} go beyond {list(metrics)}")
    width = spec["_dense"][-1]["out_features"] if spec.get("_dense") else spec["_embedding_dim"]
    if width != spec["_embedding_dim"]:
        problems.append(f"{name}: the last Dense gives {width} dimensions, not _embedding_dim {spec['_embedding_dim']}")
    dims = spec.get("_matryoshka_dims")
    if dims is not None and (dims != sorted(set(dims), reverse=True) or dims[0] != spec["_embedding_dim"] or dims[-1] < 1):
        problems.append(f"{name}: _matryoshka_dims must descend from _embedding_dim")
    if spec.get("_remote_code", False) == (spec["_architecture"] in STANDARD_ARCHITECTURES):
        problems.append(f"{name}: _remote_code must be set exactly for architectures transformers does not ship")
    return problems


def _whole(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _strings(values: Any) -> bool:
    return isinstance(values, list) and all(isinstance(v, str) and v for v in values)


def _prompts(prompts: Any) -> bool:
    """Named prompts: non-empty names, string texts (an empty text is a declared "no prompt")."""
    return isinstance(prompts, dict) and _strings(list(prompts)) and all(isinstance(v, str) for v in prompts.values())
