"""Run produced graphs locally in ONNX Runtime with the extensions' tokenizer ops registered."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
from onnxruntime_extensions import get_library_path

from embedpipe import contract


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
