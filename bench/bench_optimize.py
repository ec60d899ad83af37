"""Each optimization level (`optimize` 0, 1, 2, 99) against sentence-transformers' ONNX backend.

Why: conversion scripts offer `--optimize 0|1|2|99`, and the sentence-transformers ONNX backend
ships an O3 export (fused Attention, SkipLayerNormalization, approximated Gelu); a level is worth
offering if it makes the graph faster, and the O3 export is what a user would compare with.
all-MiniLM-L6-v2, fp32, in one run: single-string latency on short queries (one string per call,
as Oracle and a search box call it) and throughput on real lines in corpus order in batches of 64
(the batched client-side graph); every contender side by side (bench/sidebyside.py), ONNX Runtime's
spinning off, the same threads. Levels 2 and 99 need the portable op profile (contrib ops), so the
levels are measured on portable graphs, and the oracle default beside them. Every contender's
vectors are held to SentenceTransformer (PyTorch) on the lines: min cosine.

Run: `HF_HUB_OFFLINE=1 .venv/bin/python bench/bench_optimize.py` (writes bench/results/optimize.{json,md}).
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
BATCH = 64
LEVELS = (0, 1, 2, 99)
HEADLINE = "O3"  # the ratios are to the backend's O3 export


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--queries", type=int, default=100, help="short queries, one per call")
    parser.add_argument("--lines", type=int, default=256, help="real lines in batches of 64")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--output-dir", type=Path, default=ROOT / "bench" / "results")
    args = parser.parse_args()
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

    import onnx
    import st_onnx
    import torch
    from bench_minilm import CORPUS, model_folder, short_queries
    from embedpipe import ONNXPipeline, ONNXPipelineConfig
    from embedpipe.runtime import embed, open_session
    from sentence_transformers import SentenceTransformer
    from sidebyside import alternate, batches, load_average, min_cosine, timed

    torch.set_num_threads(args.threads)
    model_dir = model_folder()
    corpus = [line for line in CORPUS.read_text(encoding="utf-8").splitlines() if line.strip()]
    queries, lines = short_queries(corpus, args.queries), corpus[: args.lines]
    load_at_start = load_average()
    reference = SentenceTransformer(str(model_dir), device="cpu").encode(lines, convert_to_numpy=True)
    graphs: dict[str, dict[str, Any]] = {}
    single: dict[str, Any] = {}
    batched: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as tmp:
        variants = [("oracle profile, level 0 (default)", "oracle", 0)] + [(f"portable profile, level {level}", "portable", level) for level in LEVELS]
        for name, profile, level in variants:
            start = time.perf_counter()
            config = ONNXPipelineConfig(op_profile=profile, optimize=level, validate=False)
            path = ONNXPipeline(model_dir, config).export2file(f"single_{profile}_{level}", tmp)
            seconds = time.perf_counter() - start
            model = onnx.load(str(path))
            contrib = sorted({n.op_type for n in model.graph.node if n.domain == "com.microsoft" and n.op_type != "Tokenizer"})
            single[name] = open_session(path, threads=args.threads)
            batch_path = ONNXPipeline(model_dir, ONNXPipelineConfig(op_profile=profile, optimize=level, batch=True, validate=False)).export2file(f"batch_{profile}_{level}", tmp)
            batched[name] = open_session(batch_path, threads=args.threads)
            graphs[name] = {"conversion_s": seconds, "contrib_ops": contrib}
        worker = st_onnx.Worker(model_dir, Path(tmp), args.threads, ("default", HEADLINE))
        try:
            backend = {st_onnx.LABELS[v]: v for v in ("default", HEADLINE)}
            cosines = {name: min_cosine(embed(session, lines), reference) for name, session in single.items()}
            cosines |= {name: min_cosine(worker.vectors(v, lines), reference) for name, v in backend.items()}
            cosines_batched = {name: min_cosine(np.concatenate([s.run(None, {"input": b})[0] for b in batches(lines, BATCH)]), reference) for name, s in batched.items()}
            one_by_one = {name: timed(lambda s=session: [s.run(None, {"input": np.array([q], dtype=object)}) for q in queries]) for name, session in single.items()}
            one_by_one |= {name: (lambda v=v: sum(worker.encode_each(v, queries))) for name, v in backend.items()}
            latency_s = alternate(one_by_one, args.rounds)
            in_batches = {name: timed(lambda s=session: [s.run(None, {"input": b}) for b in batches(lines, BATCH)]) for name, session in batched.items()}
            in_batches |= {name: (lambda v=v: worker.encode(v, lines, BATCH)) for name, v in backend.items()}
            batch_s = alternate(in_batches, args.rounds)
            backend_versions = st_onnx.versions()
        finally:
            worker.close()
    ms = {name: 1000 * seconds / len(queries) for name, seconds in latency_s.items()}
    per_s = {name: len(lines) / seconds for name, seconds in batch_s.items()}
    o3 = st_onnx.LABELS[HEADLINE]
    result = {
        "model": "sentence-transformers/all-MiniLM-L6-v2",
        "queries": len(queries),
        "lines": len(lines),
        "batch_size": BATCH,
        "rounds": args.rounds,
        "threads": args.threads,
        "single_string_ms": ms,
        "batch_lines_per_s": per_s,
        "single_string_vs_o3": {name: ms[o3] / value for name, value in ms.items()},
        "batch_vs_o3": {name: value / per_s[o3] for name, value in per_s.items()},
        "min_cosine_vs_sentence_transformers": cosines,
        "min_cosine_batched_vs_sentence_transformers": cosines_batched,
        "graphs": graphs,
        "backend_versions": backend_versions,
        "load_average_start": load_at_start,
        "load_average_end": load_average(),
    }
    args.output_dir.mkdir(parents=True, exist_ok=True)
    (args.output_dir / "optimize.json").write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    table = _markdown(result, o3)
    (args.output_dir / "optimize.md").write_text(table + "\n", encoding="utf-8")
    print(table)


def _markdown(result: dict[str, Any], o3: str) -> str:
    rows = []
    for name, ms in result["single_string_ms"].items():
        graph = result["graphs"].get(name)
        ops = ", ".join(graph["contrib_ops"]) or "standard only" if graph else "(its own export)"
        label = f"embedpipe graph, {name}" if graph else name
        cosine = result["min_cosine_vs_sentence_transformers"][name]
        rows.append(
            f"| {label} | {ops} | {ms:.2f} | {result['single_string_vs_o3'][name]:.2f}x | "
            f"{result['batch_lines_per_s'][name]:.0f} | {result['batch_vs_o3'][name]:.2f}x | {cosine:.6f} |"
        )
    return "\n".join(
        [
            f"# Optimization levels vs the sentence-transformers ONNX backend (all-MiniLM-L6-v2, fp32, {result['threads']} threads)",
            "",
            f"Single string: {result['queries']} short queries, one per call, median of {result['rounds']} rounds. "
            f"Batch: {result['lines']} real lines in corpus order, batches of {result['batch_size']} (embedpipe: the batched graph). "
            f"Ratios: how many times faster than the backend's O3 export (above 1: ahead).",
            "",
            "| contender | contrib ops written | ms per query | vs O3 | lines/s, batch 64 | vs O3 | min cosine vs sentence-transformers |",
            "|---|---|---:|---:|---:|---:|---:|",
            *rows,
            "",
            f"Backend: {', '.join(f'{k} {v}' for k, v in result['backend_versions'].items())}. "
            f"Load average {result['load_average_start'][0]} at start, {result['load_average_end'][0]} at end.",
        ]
    )


if __name__ == "__main__":
    main()
