"""Client-side throughput: the graphs against SentenceTransformer.encode with PyTorch and with its ONNX backend.

Why: `batch=True` exists for applications that embed many strings through ONNX Runtime, and the
single-string graph for those that embed one at a time; both are worth having only if they beat
what those applications run today: sentence-transformers with PyTorch, or with its ONNX backend
(optimum's default export, its O3 export, its INT8 export; bench/st_onnx.py). All contenders get
the same real lines in corpus order, in one run, side by side (bench/sidebyside.py), with the same
threads and ONNX Runtime's spinning off, so machine noise hits them alike:

- batch 64: the lines in batches of 64 as the caller forms them (sentence-transformers gets the
  whole list with batch_size=64 and sorts it by length itself; the batched graph orders each batch
  by token count itself);
- batch 1: one line per call.

fp32 and INT8 each: the default graphs (oracle op profile, no offline optimization), and the
portable graphs at `optimize` 2 (contrib ops; docs/optimization.md). INT8 is measured as it is on
this branch: a batched INT8 graph runs one string at a time (batch_chunk 1). Vectors: fp32
contenders are held to SentenceTransformer (PyTorch), INT8 ones reported against it too.

Run: `HF_HUB_OFFLINE=1 .venv/bin/python bench/bench_batch.py` (writes bench/results/batch.{json,md}).
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
BATCH = 64
PYTORCH = "SentenceTransformer.encode, PyTorch (fp32)"
GRAPHS = {  # contender -> config properties; the precision is in the name
    "embedpipe graph, fp32 (default)": {},
    "embedpipe graph, fp32, portable, optimize 2": {"op_profile": "portable", "optimize": 2},
    "embedpipe graph, INT8 (default)": {"quantize_model": True},
    "embedpipe graph, INT8, portable, optimize 2": {"op_profile": "portable", "optimize": 2, "quantize_model": True},
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=512, help="lines per round at batch 64")
    parser.add_argument("--single-lines", type=int, default=128, help="lines per round at batch 1")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--output-dir", type=Path, default=ROOT / "bench" / "results")
    args = parser.parse_args()
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

    import st_onnx
    import torch
    from bench_minilm import CORPUS, model_folder
    from embedpipe import ONNXPipeline, ONNXPipelineConfig
    from embedpipe.runtime import open_session
    from sentence_transformers import SentenceTransformer
    from sidebyside import alternate, batches, load_average, min_cosine, timed

    torch.set_num_threads(args.threads)
    model_dir = model_folder()
    corpus = [line for line in CORPUS.read_text(encoding="utf-8").splitlines() if line.strip()]
    lines, single_lines = corpus[: args.lines], corpus[: args.single_lines]
    load_at_start = load_average()
    st = SentenceTransformer(str(model_dir), device="cpu")
    reference = st.encode(lines, convert_to_numpy=True)
    variants = ("default", "O3", "qint8")
    backend = {st_onnx.LABELS[v]: v for v in variants}
    with tempfile.TemporaryDirectory() as tmp:
        batched, single = {}, {}
        for index, (name, properties) in enumerate(GRAPHS.items()):
            for sessions, batch in ((batched, True), (single, False)):
                config = ONNXPipelineConfig(batch=batch, validate=False, **properties)
                path = ONNXPipeline(model_dir, config).export2file(f"graph{index}_{batch}", tmp)
                sessions[name] = open_session(path, threads=args.threads)
        worker = st_onnx.Worker(model_dir, Path(tmp), args.threads, variants)
        try:
            vectors = {name: np.concatenate([s.run(None, {"input": b})[0] for b in batches(lines, BATCH)]) for name, s in batched.items()}
            vectors |= {name: worker.vectors(v, lines) for name, v in backend.items()}
            cosines = {name: min_cosine(v, reference) for name, v in vectors.items()}
            at_64 = {name: timed(lambda s=s: [s.run(None, {"input": b}) for b in batches(lines, BATCH)]) for name, s in batched.items()}
            at_64[PYTORCH] = timed(lambda: st.encode(lines, batch_size=BATCH, convert_to_numpy=True))
            at_64 |= {name: (lambda v=v: worker.encode(v, lines, BATCH)) for name, v in backend.items()}
            batch_s = alternate(at_64, args.rounds)
            at_1 = {name: timed(lambda s=s: [s.run(None, {"input": np.array([t], dtype=object)}) for t in single_lines]) for name, s in single.items()}
            at_1[PYTORCH] = timed(lambda: [st.encode([t], convert_to_numpy=True) for t in single_lines])
            at_1 |= {name: (lambda v=v: sum(worker.encode_each(v, single_lines))) for name, v in backend.items()}
            single_s = alternate(at_1, args.rounds)
            backend_versions = st_onnx.versions()
        finally:
            worker.close()
    per_s = {
        "batch 64": {name: len(lines) / s for name, s in batch_s.items()},
        "batch 1": {name: len(single_lines) / s for name, s in single_s.items()},
    }
    result = {
        "model": "sentence-transformers/all-MiniLM-L6-v2",
        "lines_at_batch_64": len(lines),
        "lines_at_batch_1": len(single_lines),
        "rounds": args.rounds,
        "threads": args.threads,
        "lines_per_s": per_s,
        "ahead": _ahead(per_s),
        "min_cosine_vs_sentence_transformers": cosines,
        "int8_batches": "one string at a time (batch_chunk 1), as on this branch",
        "backend_versions": backend_versions,
        "load_average_start": load_at_start,
        "load_average_end": load_average(),
    }
    args.output_dir.mkdir(parents=True, exist_ok=True)
    (args.output_dir / "batch.json").write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    table = _markdown(result)
    (args.output_dir / "batch.md").write_text(table + "\n", encoding="utf-8")
    print(table)


def _rivals(name: str) -> list[str]:
    """Whom a graph must beat: PyTorch, and the ONNX backend's exports of its precision."""
    from st_onnx import LABELS

    return [PYTORCH, LABELS["qint8"]] if "INT8" in name else [PYTORCH, LABELS["default"], LABELS["O3"]]


def _ahead(per_s: dict[str, dict[str, float]]) -> dict[str, dict[str, float]]:
    """Per batch size and graph: its throughput over the fastest rival's (above 1: ahead of all)."""
    return {
        size: {name: values[name] / max(values[r] for r in _rivals(name)) for name in GRAPHS}
        for size, values in per_s.items()
    }


def _markdown(result: dict[str, Any]) -> str:
    per_s, ahead = result["lines_per_s"], result["ahead"]
    names = list(per_s["batch 64"])
    rows = []
    for name in names:
        mark = {size: f"{ahead[size][name]:.2f}x" if name in GRAPHS else "" for size in per_s}
        rows.append(
            f"| {name} | {per_s['batch 64'][name]:.0f} | {mark['batch 64']} | {per_s['batch 1'][name]:.0f} | {mark['batch 1']} | "
            f"{result['min_cosine_vs_sentence_transformers'].get(name, 1.0):.6f} |"
        )
    return "\n".join(
        [
            f"# Client-side throughput (all-MiniLM-L6-v2, real lines in corpus order, {result['threads']} threads)",
            "",
            f"Batch 64: {result['lines_at_batch_64']} lines in batches of 64; batch 1: {result['lines_at_batch_1']} lines, one per call; "
            f"lines/s, median of {result['rounds']} rounds. 'vs fastest rival': a graph's lines/s over the fastest of "
            "SentenceTransformer with PyTorch and the ONNX backend's exports of the same precision (above 1: ahead of all). "
            f"INT8 batches: {result['int8_batches']}.",
            "",
            "| contender | lines/s, batch 64 | vs fastest rival | lines/s, batch 1 | vs fastest rival | min cosine vs sentence-transformers (PyTorch) |",
            "|---|---:|---:|---:|---:|---:|",
            *rows,
            "",
            f"Backend: {', '.join(f'{k} {v}' for k, v in result['backend_versions'].items())}. "
            f"Load average {result['load_average_start'][0]} at start, {result['load_average_end'][0]} at end (2 cores, shared).",
        ]
    )


if __name__ == "__main__":
    main()
