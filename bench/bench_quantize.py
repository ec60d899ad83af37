"""Benchmark INT8 and FP16 on all-MiniLM-L6-v2: file size, single-string latency and quality, against fp32.

Why: a quantized graph is worth it only if it is smaller and faster for a measured, small change
of its vectors. Each variant is converted with validation on (so its quality report against its
own fp32 graph is the one a user sees), then all graphs run in one process, interleaved text by
text, with the same threads and ORT spinning off (bench_minilm's timing), and each graph's
vectors on 200 real lines are compared with SentenceTransformer.encode.

Run: .venv/bin/python bench/bench_quantize.py [--quick] [--threads 2] [--output-dir bench/results]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_minilm import (
    CORPUS,
    FULL,
    QUICK,
    Contender,
    long_prose,
    machine_info,
    model_folder,
    paired_ratio,
    short_queries,
    time_text_set,
)

FP32 = "fp32"
LOWERED = {"quality_floor": 0.5, "neighbour_floor": 0.0}  # fixed recipes are measured whatever their quality
VARIANTS: dict[str, dict[str, Any]] = {
    FP32: {},
    "int8 (default: SmoothQuant + dynamic, searched within the floors)": {"quantize_model": True},
    "int8 (old default: dynamic, qint8, per-channel, reduce-range)": {
        "quantize_model": True,
        "quantize_options": {"reduce_range": True, "smooth_alpha": 0, "float_compute": "none"},
        **LOWERED,
    },
    "int8 (old recipe, quint8 weights)": {
        "quantize_model": True,
        "quantize_options": {"weight_type": "quint8", "reduce_range": True, "smooth_alpha": 0, "float_compute": "none"},
        **LOWERED,
    },
    "int8 (old recipe, per-tensor)": {
        "quantize_model": True,
        "quantize_options": {"per_channel": False, "smooth_alpha": 0, "float_compute": "none"},
        **LOWERED,
    },
    "fp16 (float16 compute)": {"use_float16": True},
    "fp16 (float16 weights, float32 compute)": {"use_float16": True, "quantize_options": {"compute": "float32"}},
}
INT8 = "int8 (default: SmoothQuant + dynamic, searched within the floors)"
TARGETS = {"int8_size_ratio_max": 0.32, "int8_latency_ratio_max": 0.60, "int8_mean_cosine_min": 0.995}


def convert(folder: Path, output_dir: Path) -> dict[str, dict[str, Any]]:
    """Every variant exported (validated and measured); file, size, conversion time and quality report."""
    from embedpipe import ONNXPipeline, ONNXPipelineConfig

    converted = {}
    for index, (name, properties) in enumerate(VARIANTS.items()):
        start = time.perf_counter()
        pipe = ONNXPipeline(folder, ONNXPipelineConfig(**properties))
        path = pipe.export2file(f"variant{index}", output_dir)
        converted[name] = {
            "path": path,
            "bytes": path.stat().st_size,
            "convert_s": time.perf_counter() - start,
            "quality_vs_fp32": pipe.quality.to_dict() if pipe.quality else None,
        }
        print(f"converted {name}: {path.stat().st_size / 1e6:.1f} MB", flush=True)
    return converted


def quality_vs_sentence_transformers(folder: Path, converted: dict[str, dict[str, Any]], lines: list[str]) -> None:
    """Cosine of each graph's vectors to SentenceTransformer.encode on ``lines`` (min and mean), added in place."""
    from embedpipe.quality import cosines
    from embedpipe.runtime import embed, open_session
    from sentence_transformers import SentenceTransformer

    reference = SentenceTransformer(str(folder), device="cpu").encode(
        lines, batch_size=16, convert_to_numpy=True, show_progress_bar=False
    )
    for entry in converted.values():
        found = cosines(embed(open_session(entry["path"]), lines), reference)
        entry["vs_sentence_transformers"] = {
            "lines": len(lines),
            "min_cosine": float(found.min()),
            "mean_cosine": float(found.mean()),
        }


def latency(converted: dict[str, dict[str, Any]], texts: dict[str, list[str]], threads: int, quick: bool) -> None:
    """Median single-string latency per graph and text set, and its paired ratio to fp32, added in place."""
    from embedpipe import contract
    from embedpipe.runtime import open_session

    sizes = QUICK if quick else FULL
    contenders = []
    for name, entry in converted.items():
        session = open_session(entry["path"], threads=threads)
        contenders.append(
            Contender(
                name, lambda text: {contract.TEXT: np.array([text], dtype=object)}, lambda feed, s=session: s.run(None, feed)
            )
        )
    for set_name, items in texts.items():
        count = sizes.short if set_name == "short" else sizes.long
        time_text_set(contenders, items[:count], sizes)
        fp32 = contenders[0]
        for contender in contenders:
            calls = [t for per_text in contender.times_ms.values() for t in per_text]
            converted[contender.name].setdefault("latency", {})[set_name] = {
                "median_ms": statistics.median(calls),
                "ratio_to_fp32": paired_ratio(contender, fp32),
            }


def markdown(results: dict[str, Any]) -> str:
    fp32_bytes = results["variants"][FP32]["bytes"]
    header = (
        "| variant | file | / fp32 | short query median (/ fp32) | long prose median (/ fp32) "
        "| cos to fp32 min / mean | top-10 overlap | cos to sentence-transformers min / mean |"
    )
    rows = [header, "|---|---:|---:|---:|---:|---:|---:|---:|"]
    for name, entry in results["variants"].items():
        quality = entry["quality_vs_fp32"]
        st = entry["vs_sentence_transformers"]
        lat = entry["latency"]
        versus_fp32 = (
            f"| {quality['min_cosine']:.4f} / {quality['mean_cosine']:.4f} | {quality['mean_top10_overlap']:.3f} "
            if quality
            else "| (reference) | (reference) "
        )
        rows.append(
            f"| {name} | {entry['bytes'] / 1e6:.1f} MB | {entry['bytes'] / fp32_bytes:.0%} "
            f"| {lat['short']['median_ms']:.2f} ms ({lat['short']['ratio_to_fp32']:.2f}x) "
            f"| {lat['long']['median_ms']:.2f} ms ({lat['long']['ratio_to_fp32']:.2f}x) "
            f"{versus_fp32}| {st['min_cosine']:.4f} / {st['mean_cosine']:.4f} |"
        )
    machine = results["machine"]
    targets = results["targets"]
    checks = results["checks"]
    notes = [
        "",
        (
            f"Threads {machine['threads']}, ORT spinning off, {machine['cpu_model']} ({machine['usable_cpus']} usable CPUs), "
            f"load average at start {', '.join(f'{v:.1f}' for v in machine['load_average_at_start'])}."
        ),
        (
            f"Targets for the default INT8: file <= {targets['int8_size_ratio_max']:.0%} of fp32 ({checks['int8_size_ratio']:.1%}), "
            f"short-query latency <= {targets['int8_latency_ratio_max']:.0%} of fp32 ({checks['int8_latency_ratio']:.0%}), "
            f"mean cosine to fp32 >= {targets['int8_mean_cosine_min']} ({checks['int8_mean_cosine']:.4f})."
        ),
    ]
    return "# INT8 and FP16 on all-MiniLM-L6-v2\n\n" + "\n".join(rows + notes) + "\n"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--quick", action="store_true", help="few texts and rounds: proves the script works, figures not to quote"
    )
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--output-dir", type=Path, default=Path(__file__).resolve().parent / "results")
    args = parser.parse_args(argv)
    machine = machine_info(args.threads)
    lines = CORPUS.read_text(encoding="utf-8").splitlines()
    texts = {"short": short_queries(lines, FULL.short), "long": long_prose(lines, FULL.long)}
    real = [line for line in lines if line.strip()][::19][:200]
    folder = model_folder()
    with tempfile.TemporaryDirectory(prefix="embedpipe-bench-quantize-") as work:
        converted = convert(folder, Path(work))
        quality_vs_sentence_transformers(folder, converted, real)
        latency(converted, texts, args.threads, args.quick)
    for entry in converted.values():
        entry["path"] = entry["path"].name
    int8 = converted[INT8]
    results = {
        "machine": machine,
        "quick": args.quick,
        "targets": TARGETS,
        "checks": {
            "int8_size_ratio": int8["bytes"] / converted[FP32]["bytes"],
            "int8_latency_ratio": int8["latency"]["short"]["ratio_to_fp32"],
            "int8_mean_cosine": int8["quality_vs_fp32"]["mean_cosine"],
        },
        "variants": converted,
    }
    args.output_dir.mkdir(parents=True, exist_ok=True)
    (args.output_dir / "quantize.json").write_text(json.dumps(results, indent=2, default=str))
    table = markdown(results)
    (args.output_dir / "quantize.md").write_text(table)
    print(table)


if __name__ == "__main__":
    main()
