"""INT8 batches: chunks of one string (each row the single-string INT8 graph's) against padded chunks of 16.

Why: dynamic INT8 computes each activation's scale over everything that runs together, so a chunk
of several strings (padded positions included) gives a row that depends on its neighbours. Chunks
of one are exactly the single-string graph; a chunk of 16 would only be worth allowing if it were
both faster and still equal. Both batched graphs (the chunk-16 one built by overriding the
setting the config refuses) run the same 64-string batches of real lines, alternating round by
round, ORT spinning off; their rows are compared with the single-string INT8 graph's.

Run: HF_HUB_OFFLINE=1 .venv/bin/python bench/bench_int8_batch.py [--lines 256] [--rounds 5] [--threads 2]
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_minilm import CORPUS, machine_info, model_folder

BATCH = 64


def export(folder: Path, output_dir: Path, chunk: int | None) -> Path:
    """The INT8 graph: single-string (None), or batched with ``chunk`` strings per encoder run."""
    from embedpipe import ONNXPipeline, ONNXPipelineConfig

    if chunk is None:
        return ONNXPipeline(folder, ONNXPipelineConfig(quantize_model=True, validate=False)).export2file("single", output_dir)
    pipe = ONNXPipeline(folder, ONNXPipelineConfig(quantize_model=True, batch=True, validate=False))
    pipe.settings = dataclasses.replace(pipe.settings, batch_chunk=chunk)  # bench only: the config refuses chunk > 1 with INT8
    return pipe.export2file(f"chunk{chunk}", output_dir)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=256)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--output-dir", type=Path, default=Path(__file__).resolve().parent / "results")
    args = parser.parse_args(argv)
    from embedpipe.quality import cosines
    from embedpipe.runtime import embed, open_session

    machine = machine_info(args.threads)
    lines = [line for line in CORPUS.read_text(encoding="utf-8").splitlines() if line.strip()][: args.lines]
    batches = [np.array(lines[i : i + BATCH], dtype=object) for i in range(0, len(lines), BATCH)]
    folder = model_folder()
    with tempfile.TemporaryDirectory(prefix="embedpipe-bench-int8-batch-") as work:
        single = embed(open_session(export(folder, Path(work), None), threads=args.threads), lines)
        sessions = {chunk: open_session(export(folder, Path(work), chunk), threads=args.threads) for chunk in (1, 16)}
        rows = {chunk: np.concatenate([s.run(None, {"input": b})[0] for b in batches]) for chunk, s in sessions.items()}
        seconds: dict[int, list[float]] = {chunk: [] for chunk in sessions}
        for round_ in range(args.rounds):
            for chunk in sorted(sessions, reverse=bool(round_ % 2)):
                start = time.perf_counter()
                for batch in batches:
                    sessions[chunk].run(None, {"input": batch})
                seconds[chunk].append(time.perf_counter() - start)
    results: dict[str, Any] = {"machine": machine, "lines": len(lines), "batch": BATCH, "rounds": args.rounds, "chunks": {}}
    for chunk in sessions:
        found = cosines(rows[chunk], single)
        results["chunks"][chunk] = {
            "lines_per_s": len(lines) / statistics.median(seconds[chunk]),
            "max_abs_difference_to_single": float(np.abs(rows[chunk] - single).max()),
            "min_cosine_to_single": float(found.min()),
            "mean_cosine_to_single": float(found.mean()),
        }
    base = results["chunks"][1]["lines_per_s"]
    table = [
        f"# INT8 batches: chunk 1 vs chunk 16 (all-MiniLM-L6-v2, batches of {BATCH}, {len(lines)} real lines, {args.threads} threads)",
        "",
        "| chunk | lines/s (median of rounds) | / chunk 1 | max abs difference to the single-string INT8 graph | cos to it min / mean |",
        "|---:|---:|---:|---:|---:|",
    ]
    for chunk, entry in results["chunks"].items():
        table.append(
            f"| {chunk} | {entry['lines_per_s']:.0f} | {entry['lines_per_s'] / base:.2f}x | {entry['max_abs_difference_to_single']:.2e} "
            f"| {entry['min_cosine_to_single']:.5f} / {entry['mean_cosine_to_single']:.5f} |"
        )
    table += ["", f"ORT spinning off, {machine['cpu_model']}, load average at start {', '.join(f'{v:.1f}' for v in machine['load_average_at_start'])}."]
    args.output_dir.mkdir(parents=True, exist_ok=True)
    (args.output_dir / "quantize_batch.json").write_text(json.dumps(results, indent=2))
    (args.output_dir / "quantize_batch.md").write_text("\n".join(table) + "\n")
    print("\n".join(table))


if __name__ == "__main__":
    main()
