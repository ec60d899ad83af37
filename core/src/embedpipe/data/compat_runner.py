"""Run one strings-in graph (an embedding, reranker or classifier) in whatever ONNX Runtime this interpreter has.

Runs inside the compatibility virtual environments, where embedpipe is not installed, so it
imports nothing but the standard library, numpy, onnxruntime and onnxruntime_extensions.
Usage: python compat_runner.py JOB.json OUT_DIR. The job holds the model path, the graph's string
input names, its output name and the rows (one text per input name: a text, or a pair);
OUT_DIR receives result.json and vectors.npy (one output row per job row, NaN where a row failed).
"""

from __future__ import annotations

import json
import platform
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np
import onnxruntime as ort
import onnxruntime_extensions as ortx


def open_session(model_path: str) -> ort.InferenceSession:
    """A CPU session configured as embedpipe.runtime configures it, so vectors are comparable."""
    options = ort.SessionOptions()
    options.register_custom_ops_library(ortx.get_library_path())
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    options.add_session_config_entry("session.inter_op.allow_spinning", "0")
    return ort.InferenceSession(model_path, options, providers=["CPUExecutionProvider"])


def run_each(session: ort.InferenceSession, job: dict) -> tuple[list[np.ndarray | None], dict[str, str]]:
    """One flat float32 output per row, or None plus an error message keyed by the row's index."""
    vectors: list[np.ndarray | None] = []
    errors: dict[str, str] = {}
    for index, row in enumerate(job["rows"]):
        try:
            feeds = {name: np.array([text], dtype=object) for name, text in zip(job["inputs"], row)}
            (value,) = session.run([job["output"]], feeds)
            vectors.append(np.asarray(value, dtype=np.float32).reshape(-1))
        except Exception as exc:  # noqa: BLE001 - every failure is a finding to report, not to raise
            vectors.append(None)
            errors[str(index)] = f"{type(exc).__name__}: {exc}"
    return vectors, errors


def stack(vectors: list[np.ndarray | None], errors: dict[str, str]) -> np.ndarray:
    """The outputs as one [N, D] array, D from the first row; failed or odd-sized rows become NaN rows."""
    width = next((v.size for v in vectors if v is not None), 0)
    rows = np.full((len(vectors), width), np.nan, dtype=np.float32)
    for index, vector in enumerate(vectors):
        if vector is not None and vector.size == width:
            rows[index] = vector
        elif vector is not None:
            errors[str(index)] = f"output has {vector.size} values, other rows have {width}"
    return rows


def run(job: dict, opener: Callable[[str], ort.InferenceSession]) -> tuple[dict, np.ndarray]:
    """The versions, load error and per-row errors, and the [N, D] outputs; ``opener`` makes the session."""
    result: dict = {"versions": versions(), "load_error": None, "errors": {}}
    try:
        session = opener(job["model"])
    except Exception as exc:  # noqa: BLE001 - a graph this runtime refuses is the finding
        result["load_error"] = f"{type(exc).__name__}: {exc}"
        return result, np.zeros((len(job["rows"]), 0), dtype=np.float32)
    found, result["errors"] = run_each(session, job)
    return result, stack(found, result["errors"])


def versions() -> dict[str, str]:
    """What this interpreter runs graphs with."""
    return {
        "python": platform.python_version(),
        "onnxruntime": ort.__version__,
        "onnxruntime_extensions": ortx.__version__,
        "numpy": np.__version__,
    }


def main(job_path: str, out_dir: str) -> None:
    result, vectors = run(json.loads(Path(job_path).read_text(encoding="ascii")), open_session)
    np.save(Path(out_dir) / "vectors.npy", vectors)
    (Path(out_dir) / "result.json").write_text(json.dumps(result, ensure_ascii=True), encoding="ascii")


if __name__ == "__main__":
    main(*sys.argv[1:3])
