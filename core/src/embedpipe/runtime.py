"""Run produced graphs locally in ONNX Runtime with the extensions' tokenizer ops registered."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import onnx
import onnxruntime as ort
from onnxruntime_extensions import get_library_path

from embedpipe import contract
from embedpipe.errors import ConfigError


def open_session(model: str | Path | bytes | onnx.ModelProto, *, threads: int = 0) -> ort.InferenceSession:
    """A CPU session with the extension ops registered and idle-thread spinning off.

    Spinning is off so that timing the graph beside something else measures both fairly.
    """
    options = ort.SessionOptions()
    options.register_custom_ops_library(get_library_path())
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    options.add_session_config_entry("session.inter_op.allow_spinning", "0")
    options.intra_op_num_threads = threads
    if isinstance(model, onnx.ModelProto):
        model = model.SerializeToString()
    elif isinstance(model, Path):
        model = str(model)
    return ort.InferenceSession(model, options, providers=["CPUExecutionProvider"])


def run_one(session: ort.InferenceSession, text: str) -> dict[str, np.ndarray]:
    """All outputs of a string-in graph for one string, by output name."""
    names = [o.name for o in session.get_outputs()]
    values = session.run(names, {contract.TEXT: np.array([text], dtype=object)})
    return dict(zip(names, values))


def embed(session: ort.InferenceSession, texts: Iterable[str]) -> np.ndarray:
    """The ``embedding`` output for each text, one row per text (the graph takes one string)."""
    rows = [session.run([contract.EMBEDDING], {contract.TEXT: np.array([t], dtype=object)})[0][0] for t in texts]
    return np.stack(rows) if rows else np.zeros((0, 0), dtype=np.float32)


Inputs = tuple[str, ...]  # one text, or a (first, second) pair


def recorded_settings(model: onnx.ModelProto) -> dict[str, Any]:
    """The settings a produced graph records (empty for a graph embedpipe did not build)."""
    props = {p.key: p.value for p in model.metadata_props}
    return dict(json.loads(props.get(contract.SETTINGS_KEY, "{}")))


def run_inputs(session: ort.InferenceSession, inputs: Inputs) -> np.ndarray:
    """The only output's row for one text or one pair (a reranker's or classifier's graph), float32 [L]."""
    names = [i.name for i in session.get_inputs()]
    if len(names) != len(inputs):
        raise ConfigError(
            f"the graph takes {' and '.join(names)} but {len(inputs)} text(s) were given",
            "give one text to a single-input graph, two to a pair graph (convert with --pair for pairs)",
        )
    feeds = {name: np.array([text], dtype=object) for name, text in zip(names, inputs)}
    return session.run(None, feeds)[0].reshape(-1)


def scored(file: Path, texts: Sequence[str]) -> list[dict[str, Any]]:
    """What `embedpipe score` prints: a reranker's score per passage for ``texts`` = query, passages...;
    a classifier's best label, its probability and every label's, for ``texts`` = one text (or a pair)."""
    settings = recorded_settings(onnx.load(str(file), load_external_data=False))
    function = settings.get("function", contract.EMBEDDING_FUNCTION)
    session = open_session(file)
    if function == contract.REGRESSION:
        if len(texts) < 2:
            raise ConfigError("a reranker scores passages against a query", 'give the query, then one or more passages: score FILE "query" "passage"')
        return [{"passage": p, "score": float(run_inputs(session, (texts[0], p))[0])} for p in texts[1:]]
    if function == contract.CLASSIFICATION:
        values = run_inputs(session, tuple(texts))
        labels = settings.get("labels") or [f"LABEL_{i}" for i in range(len(values))]
        best = int(np.argmax(values))
        kind = "probability" if settings.get("activation") == contract.SOFTMAX else "score"
        return [{"label": labels[best], kind: float(values[best]), "labels": dict(zip(labels, map(float, values)))}]
    raise ConfigError(f"{file} is an {function} graph, which gives vectors, not scores", "use `embedpipe embed FILE TEXT`")
