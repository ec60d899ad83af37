"""sentence-transformers' ONNX backend as a benchmark contender, run in a venv of its own.

Why a venv of its own: the backend needs optimum-onnx, whose only release (0.1.0) requires
transformers < 4.58, while this project's sentence-transformers 6 requires transformers >= 5; so
the contender is sentence-transformers 5.7.0 + transformers 4.57.6 + optimum-onnx 0.1.0 with the
same ONNX Runtime and torch, built once under .cache/bench-st-onnx (never part of the CI install).

The benchmark process drives a worker in that venv over a pipe, one request at a time, so the
contenders still take turns on an otherwise idle CPU; the worker times each encode call itself
(the pipe is not timed, as the in-process contenders have none). The worker exports the model the
way the backend's users do: ``SentenceTransformer(folder, backend="onnx")`` (optimum's default
export), ``export_optimized_onnx_model(model, "O3", ...)`` (fused Attention, SkipLayerNormalization,
approximated Gelu) and ``export_dynamic_quantized_onnx_model(model, "avx512_vnni", ...)`` (INT8).
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
VENV = ROOT / ".cache" / "bench-st-onnx"
REQUIREMENTS = ("torch==2.13.0", "sentence-transformers[onnx]==5.7.0", "optimum-onnx==0.1.0", "transformers==4.57.6")
VARIANTS = {"default": "onnx/model.onnx", "O3": "onnx/model_O3.onnx", "qint8": "onnx/model_qint8_avx512_vnni.onnx"}
LABELS = {
    "default": "sentence-transformers ONNX backend (default export)",
    "O3": "sentence-transformers ONNX backend (O3 export)",
    "qint8": "sentence-transformers ONNX backend (INT8, avx512_vnni)",
}


def versions() -> dict[str, str]:
    """The packages of the backend's venv, for the results."""
    out = subprocess.run([str(VENV / "bin" / "python"), "-m", "pip", "list", "--format", "json"], capture_output=True, text=True, check=True).stdout
    wanted = {"sentence-transformers", "transformers", "optimum", "optimum-onnx", "onnxruntime", "torch"}
    return {p["name"]: p["version"] for p in json.loads(out) if p["name"].lower() in wanted}


def ensure_venv() -> Path:
    """The backend's venv, built with pip on first use."""
    python = VENV / "bin" / "python"
    if not python.exists():
        subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
        subprocess.run([str(python), "-m", "pip", "install", "--quiet", *REQUIREMENTS], check=True)
    return python


class Worker:
    """The backend's models in the other venv: ``encode`` returns the seconds the call took there."""

    def __init__(self, model_dir: Path, work_dir: Path, threads: int, variants: tuple[str, ...]) -> None:
        python = ensure_venv()
        self._process = subprocess.Popen(
            [str(python), __file__, str(model_dir), str(work_dir), str(threads), ",".join(variants)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            env={"HF_HUB_OFFLINE": "1", "OMP_NUM_THREADS": str(threads), "OMP_WAIT_POLICY": "PASSIVE", "PATH": "/usr/bin:/bin", "TOKENIZERS_PARALLELISM": "false"},
        )
        self._ask({"cmd": "ready"})

    def _ask(self, request: dict[str, Any]) -> Any:
        assert self._process.stdin is not None and self._process.stdout is not None
        self._process.stdin.write(json.dumps(request) + "\n")
        self._process.stdin.flush()
        line = self._process.stdout.readline()
        if not line:
            raise RuntimeError("the sentence-transformers ONNX worker stopped; see its stderr above")
        return json.loads(line)["result"]

    def encode(self, variant: str, texts: list[str], batch_size: int) -> float:
        """Seconds for ``model.encode(texts, batch_size=...)`` in the worker."""
        return float(self._ask({"cmd": "time", "variant": variant, "texts": texts, "batch_size": batch_size}))

    def encode_each(self, variant: str, texts: list[str]) -> list[float]:
        """Seconds for ``model.encode([text])`` per text (the single-string latency)."""
        return [float(t) for t in self._ask({"cmd": "each", "variant": variant, "texts": texts})]

    def vectors(self, variant: str, texts: list[str]) -> Any:
        import numpy as np

        return np.array(self._ask({"cmd": "vectors", "variant": variant, "texts": texts}), dtype=np.float32)

    def close(self) -> None:
        if self._process.stdin is not None:
            self._process.stdin.close()
        self._process.wait(timeout=60)


def _serve(model_dir: str, work_dir: str, threads: int, variants: list[str]) -> None:
    """The worker: export the variants once, then answer requests on stdin."""
    import onnxruntime as ort
    import torch
    from sentence_transformers import SentenceTransformer, export_dynamic_quantized_onnx_model, export_optimized_onnx_model

    torch.set_num_threads(threads)
    folder = Path(work_dir) / "st-onnx-model"
    if not folder.exists():
        shutil.copytree(model_dir, folder)
        exported = SentenceTransformer(str(folder), device="cpu", backend="onnx")
        exported.save_pretrained(str(folder))
        export_optimized_onnx_model(exported, "O3", str(folder))
        export_dynamic_quantized_onnx_model(exported, "avx512_vnni", str(folder))

    def load(variant: str) -> SentenceTransformer:
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        options.add_session_config_entry("session.inter_op.allow_spinning", "0")
        kwargs = {"file_name": VARIANTS[variant], "provider": "CPUExecutionProvider", "session_options": options}
        return SentenceTransformer(str(folder), device="cpu", backend="onnx", model_kwargs=kwargs)

    models = {variant: load(variant) for variant in variants}
    for line in sys.stdin:
        request = json.loads(line)
        if request["cmd"] == "ready":
            result: Any = True
        elif request["cmd"] == "time":
            start = time.perf_counter()
            models[request["variant"]].encode(request["texts"], batch_size=request["batch_size"], convert_to_numpy=True)
            result = time.perf_counter() - start
        elif request["cmd"] == "each":
            model, result = models[request["variant"]], []
            for text in request["texts"]:
                start = time.perf_counter()
                model.encode([text], convert_to_numpy=True)
                result.append(time.perf_counter() - start)
        else:
            result = models[request["variant"]].encode(request["texts"], convert_to_numpy=True).tolist()
        sys.stdout.write(json.dumps({"result": result}) + "\n")
        sys.stdout.flush()


if __name__ == "__main__":
    _serve(sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4].split(","))
