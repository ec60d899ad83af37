"""Benchmark INT8 recipes: size, latency and how well each keeps the fp32 graph's vectors and neighbours (a Pareto table).

Why: the old default INT8 (dynamic, per-channel, 7-bit weights) kept only 91% of each query's
top-10 neighbours on all-MiniLM-L6-v2; each way of doing better costs speed or size, so every
recipe is measured side by side in one run. Each recipe is a set of ``quantize_options`` of the
``int8`` quantizer, converted through the pipeline as a user would (validated and measured
against its own fp32 graph on the retrieval set the floors use), then:

* held-out quality: cosine and top-10 neighbour overlap to the fp32 graph on 300 real lines the
  export never saw (tests/data/real_text.txt minus the retrieval set);
* latency: all graphs in one process, interleaved text by text, ORT spinning off (bench_minilm's
  timing), paired ratio to fp32;
* per-node sensitivity (``--sensitivity``): each weighted MatMul/Gather quantized alone, its damage
  (1 - mean cosine to fp32) on the held-out lines: the evidence for what the search keeps in float.

``--model mpnet`` makes the second table: size and latency on a random-weight model of MPNet-base's
shape (12 layers, hidden 768, a 3,000-word vocabulary; its vectors mean nothing, so no quality).

Run: .venv/bin/python bench/bench_quantize_recipes.py [--model minilm|mpnet] [--quick] [--sensitivity] [--threads 2]
(writes bench/results/quantize_recipes.{json,md}, or quantize_recipes_mpnet.{json,md})
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

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(ROOT))
from bench_minilm import CORPUS, FULL, QUICK, Contender, Sizes, long_prose, machine_info, model_folder, paired_ratio, short_queries, time_text_set

FP32 = "fp32"
OLD = {"reduce_range": True, "smooth_alpha": 0, "float_compute": "none"}
RECIPES: dict[str, dict[str, Any]] = {
    FP32: {},
    "dynamic, 7-bit weights (old default)": OLD,
    "dynamic, 8-bit weights": {"smooth_alpha": 0, "float_compute": "none"},
    "SmoothQuant + dynamic": {"float_compute": "none"},
    "SmoothQuant + dynamic, down projections float": {"float_compute": "down"},
    "SmoothQuant + dynamic, feed-forward float": {"float_compute": "feed-forward"},
    "SmoothQuant + dynamic, down float, 7-bit weights": {"float_compute": "down", "reduce_range": True},
    "weights int8, all arithmetic float": {"float_compute": "all"},
    "default (search within the floors)": {},
}
DEFAULT = "default (search within the floors)"
# The larger model's table: the recipes that differ in speed or size (its vectors are random, so no search).
MPNET_RECIPES = (FP32, "dynamic, 7-bit weights (old default)", "SmoothQuant + dynamic, down projections float", "weights int8, all arithmetic float")
TARGETS = {"mean_cosine_min": 0.995, "mean_top10_overlap_min": 0.97, "latency_ratio_max": 0.60, "size_ratio_max": 0.32}
MPNET_SHAPE = {"hidden_size": 768, "num_hidden_layers": 12, "num_attention_heads": 12, "intermediate_size": 3072, "max_position_embeddings": 514}
MPNET_SIZES, MPNET_QUICK = Sizes(short=60, long=24, rounds=3, warmup=5), Sizes(short=6, long=3, rounds=1, warmup=1)


def config_for(recipe: dict[str, Any] | None, validate: bool) -> Any:
    """fp32 (None), a fixed recipe (measured whatever its quality: floors lowered), or the default search (its floors)."""
    from embedpipe import ONNXPipelineConfig

    if recipe is None:
        return ONNXPipelineConfig(validate=validate)
    floors = {"quality_floor": 0.5, "neighbour_floor": 0.0} if "float_compute" in recipe else {}
    return ONNXPipelineConfig(quantize_model=True, quantize_options=recipe or None, validate=validate, **floors)


def convert(folder: Path, output_dir: Path, recipes: dict[str, dict[str, Any]], validate: bool) -> dict[str, dict[str, Any]]:
    """Every recipe exported; file, size, conversion time, quality report (when validated), what stayed float."""
    from embedpipe import ONNXPipeline

    converted = {}
    for index, (name, recipe) in enumerate(recipes.items()):
        start = time.perf_counter()
        pipe = ONNXPipeline(folder, config_for(None if name == FP32 else recipe, validate))
        path = pipe.export2file(f"recipe{index}", output_dir)
        quantizer = pipe.components.quantizer
        converted[name] = {
            "options": recipe,
            "path": path,
            "bytes": path.stat().st_size,
            "convert_s": time.perf_counter() - start,
            "quality_vs_fp32": pipe.quality.to_dict() if pipe.quality else None,
            "kept_float": list(quantizer.kept_float) if quantizer else [],
        }
        print(f"converted {name}: {path.stat().st_size / 1e6:.1f} MB in {converted[name]['convert_s']:.0f} s", flush=True)
    return converted


def held_out_lines(count: int) -> list[str]:
    from embedpipe.quality import retrieval_texts

    seen = set(retrieval_texts())
    lines = [line for line in CORPUS.read_text(encoding="utf-8").splitlines() if line.strip() and line.strip() not in seen]
    return lines[3 :: max(1, len(lines) // count)][:count]


def held_out_quality(converted: dict[str, dict[str, Any]], lines: list[str]) -> None:
    """Cosine and top-10 overlap of each graph to the fp32 graph on lines no export measured itself on, in place."""
    from embedpipe.quality import cosines, top_k_overlap
    from embedpipe.runtime import embed, open_session

    reference = embed(open_session(converted[FP32]["path"]), lines)
    for entry in converted.values():
        got = embed(open_session(entry["path"]), lines)
        found, overlap = cosines(reference, got), top_k_overlap(reference, got)
        entry["held_out"] = {"lines": len(lines), "min_cosine": float(found.min()), "mean_cosine": float(found.mean()), "mean_top10_overlap": float(overlap.mean())}


def latency(converted: dict[str, dict[str, Any]], texts: dict[str, list[str]], threads: int, sizes: Sizes) -> None:
    """Median single-string latency per graph and text set, and its paired ratio to fp32, in place."""
    from embedpipe import contract
    from embedpipe.runtime import open_session

    contenders = []
    for name, entry in converted.items():
        session = open_session(entry["path"], threads=threads)
        contenders.append(Contender(name, lambda text: {contract.TEXT: np.array([text], dtype=object)}, lambda feed, s=session: s.run(None, feed)))
    for set_name, items in texts.items():
        time_text_set(contenders, items[: sizes.short if set_name == "short" else sizes.long], sizes)
        for contender in contenders:
            calls = [t for per_text in contender.times_ms.values() for t in per_text]
            converted[contender.name].setdefault("latency", {})[set_name] = {
                "median_ms": statistics.median(calls),
                "ratio_to_fp32": paired_ratio(contender, contenders[0]),
            }


def sensitivity(folder: Path, lines: list[str]) -> list[dict[str, Any]]:
    """Each weighted MatMul/Gather of MiniLM's optimized body quantized alone (old default options): its damage."""
    import copy

    import onnx
    from embedpipe import ONNXPipeline, ONNXPipelineConfig
    from embedpipe.optimize import BASIC, optimize
    from embedpipe.quality import body_feeds, cosines, run_body
    from embedpipe.runtime import open_session
    from onnxruntime.quantization import quantize_dynamic

    pipe = ONNXPipeline(folder, ONNXPipelineConfig(validate=False))
    body = optimize(pipe._weights.internalize(copy.deepcopy(pipe._body())), BASIC)
    feeds = body_feeds(open_session(pipe.tokenizer_graph()), [(line,) for line in lines])
    reference = run_body(body, feeds)
    weights = {t.name for t in body.graph.initializer if len(t.dims) == 2}
    nodes = [n.name for n in body.graph.node if n.op_type in ("MatMul", "Gather") and n.input[1 if n.op_type == "MatMul" else 0] in weights]
    rows = []
    with tempfile.TemporaryDirectory() as work:
        for name in nodes:
            out = Path(work) / "one.onnx"
            quantize_dynamic(body, out, op_types_to_quantize=["MatMul", "Gather"], nodes_to_quantize=[name], per_channel=True, reduce_range=True)
            rows.append({"node": name, "damage": float(1 - cosines(reference, run_body(onnx.load(str(out)), feeds)).mean())})
            print(f"sensitivity {rows[-1]['damage']:.2e} {name}", flush=True)
    return sorted(rows, key=lambda r: -r["damage"])


def build_mpnet_base_shaped(root: Path) -> Path:
    """A sentence-transformers folder: MPNet-base's layers with random weights, a small trained vocabulary, mean pooling."""
    import torch
    import transformers
    from sentence_transformers import SentenceTransformer
    from sentence_transformers.sentence_transformer.modules import Normalize, Pooling, Transformer

    from tests.models import FAMILIES, _save_tokenizer

    family = FAMILIES["mpnet"]
    raw = root / "mpnet-hf"
    raw.mkdir(parents=True)
    tokenizer = _save_tokenizer("mpnet", family, raw, 3000)
    torch.manual_seed(0)
    config = transformers.MPNetConfig(vocab_size=len(tokenizer), **MPNET_SHAPE, **family.config)
    transformers.MPNetModel(config).save_pretrained(str(raw))
    folder = root / "mpnet-base-shaped"
    modules = [Transformer(str(raw), max_seq_length=256), Pooling(MPNET_SHAPE["hidden_size"], pooling_mode="mean"), Normalize()]
    SentenceTransformer(modules=modules, device="cpu").save(str(folder))
    return folder


def table(converted: dict[str, dict[str, Any]], quality: bool) -> list[str]:
    fp32_bytes = converted[FP32]["bytes"]
    header = "| recipe | file (/ fp32) | short query (/ fp32) | long prose (/ fp32) |"
    rule = "|---|---:|---:|---:|"
    if quality:
        header += " cos to fp32 min / mean | top-10 overlap | held-out cos min / mean | held-out top-10 overlap | kept in float |"
        rule += "---:|---:|---:|---:|---:|"
    rows = [header, rule]
    for name, entry in converted.items():
        lat = entry["latency"]
        row = (
            f"| {name} | {entry['bytes'] / 1e6:.1f} MB ({entry['bytes'] / fp32_bytes:.0%}) "
            f"| {lat['short']['median_ms']:.2f} ms ({lat['short']['ratio_to_fp32']:.2f}x) "
            f"| {lat['long']['median_ms']:.2f} ms ({lat['long']['ratio_to_fp32']:.2f}x) |"
        )
        if quality:
            q, h = entry["quality_vs_fp32"], entry["held_out"]
            versus = f" {q['min_cosine']:.4f} / {q['mean_cosine']:.4f} | {q['mean_top10_overlap']:.3f} |" if q else " (reference) | (reference) |"
            row += versus + f" {h['min_cosine']:.4f} / {h['mean_cosine']:.4f} | {h['mean_top10_overlap']:.3f} | {len(entry['kept_float'])} |"
        rows.append(row)
    return rows


def markdown(results: dict[str, Any]) -> str:
    machine = results["machine"]
    load = (
        f"Threads {machine['threads']}, ORT spinning off, {machine['cpu_model']} ({machine['usable_cpus']} usable CPUs), "
        f"load average at start {', '.join(f'{v:.1f}' for v in machine['load_average_at_start'])}."
    )
    if "mpnet" in results:
        return (
            "# INT8 recipes on a random-weight MPNet-base-shaped model (size and latency only)\n\n"
            + "\n".join(table(results["mpnet"], quality=False) + ["", load])
            + "\n"
        )
    targets, checks = results["targets"], results["checks"]
    notes = [
        "",
        f"{load} Quality to fp32 on the export's own check (validation texts + 150-line retrieval set, what the floors use) "
        f"and on {results['held_out_lines']} held-out real lines.",
        "",
        "Targets for the default INT8 (issue 16) and the measured figures: "
        + "; ".join(
            [
                f"mean cosine >= {targets['mean_cosine_min']} ({checks['mean_cosine']:.4f}, held-out {checks['held_out_mean_cosine']:.4f})",
                f"top-10 overlap >= {targets['mean_top10_overlap_min']} ({checks['mean_top10_overlap']:.3f}, held-out {checks['held_out_top10_overlap']:.3f})",
                f"short-query latency <= {targets['latency_ratio_max']}x fp32 ({checks['latency_ratio']:.2f}x; long prose {checks['long_latency_ratio']:.2f}x)",
                f"file <= {targets['size_ratio_max']:.0%} of fp32 ({checks['size_ratio']:.1%})",
            ]
        )
        + ".",
    ]
    text = "# INT8 recipes on all-MiniLM-L6-v2\n\n" + "\n".join(table(results["minilm"], quality=True) + notes) + "\n"
    if results.get("sensitivity"):
        text += "\n# Per-node sensitivity (all-MiniLM-L6-v2, old default options, one node quantized at a time)\n\n| node | 1 - mean cosine |\n|---|---:|\n"
        text += "\n".join(f"| {r['node']} | {r['damage']:.2e} |" for r in results["sensitivity"][:12]) + "\n"
    return text


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", choices=("minilm", "mpnet"), default="minilm", help="which table: one run per table")
    parser.add_argument("--quick", action="store_true", help="few texts and rounds: proves the script works, figures not to quote")
    parser.add_argument("--sensitivity", action="store_true", help="MiniLM: also measure each node's damage alone (about 3 minutes)")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--output-dir", type=Path, default=Path(__file__).resolve().parent / "results")
    args = parser.parse_args(argv)
    machine = machine_info(args.threads)
    lines = CORPUS.read_text(encoding="utf-8").splitlines()
    texts = {"short": short_queries(lines, FULL.short), "long": long_prose(lines, FULL.long)}
    results: dict[str, Any] = {"machine": machine, "quick": args.quick, "targets": TARGETS}
    with tempfile.TemporaryDirectory(prefix="embedpipe-bench-recipes-") as work:
        if args.model == "mpnet":
            folder = build_mpnet_base_shaped(Path(work) / "mpnet")
            converted = convert(folder, Path(work) / "out", {name: RECIPES[name] for name in MPNET_RECIPES}, validate=False)
            latency(converted, texts, args.threads, MPNET_QUICK if args.quick else MPNET_SIZES)
            results["mpnet"] = converted
        else:
            folder = model_folder()
            held_out = held_out_lines(40 if args.quick else 300)
            results["held_out_lines"] = len(held_out)
            if args.sensitivity:
                results["sensitivity"] = sensitivity(folder, held_out[:100])
            converted = convert(folder, Path(work), RECIPES, validate=True)
            held_out_quality(converted, held_out)
            latency(converted, texts, args.threads, QUICK if args.quick else FULL)
            results["minilm"] = converted
            default, fp32 = converted[DEFAULT], converted[FP32]
            results["checks"] = {
                "mean_cosine": default["quality_vs_fp32"]["mean_cosine"],
                "mean_top10_overlap": default["quality_vs_fp32"]["mean_top10_overlap"],
                "held_out_mean_cosine": default["held_out"]["mean_cosine"],
                "held_out_top10_overlap": default["held_out"]["mean_top10_overlap"],
                "latency_ratio": default["latency"]["short"]["ratio_to_fp32"],
                "long_latency_ratio": default["latency"]["long"]["ratio_to_fp32"],
                "size_ratio": default["bytes"] / fp32["bytes"],
            }
    for entry in converted.values():
        entry["path"] = entry["path"].name
    stem = "quantize_recipes" if args.model == "minilm" else "quantize_recipes_mpnet"
    args.output_dir.mkdir(parents=True, exist_ok=True)
    (args.output_dir / f"{stem}.json").write_text(json.dumps(results, indent=2, default=str))
    text = markdown(results)
    (args.output_dir / f"{stem}.md").write_text(text)
    print(text)


if __name__ == "__main__":
    main()
