"""Benchmark where the conversion time of all-MiniLM-L6-v2 goes, phase by phase, with validation.

Why: converting the 90 MB all-MiniLM-L6-v2 took 10.4 s (issue 16, point 5); to make it faster
without weakening validation one must know what dominates. Each run converts in a freshly
spawned child process (nothing imported or cached from an earlier run), with the default
configuration, validation included, as ``bench_minilm.py`` does. The libraries every converting
process needs (torch, transformers, sentence-transformers, onnxruntime) are imported first, as
one phase of their own; then named functions of the conversion path are wrapped with timers, so
each phase is the inclusive wall time of its function (indented phases are part of the phase
above them). Runs are repeated and each figure is the median over runs.

``--baseline REF`` times the conversion code of a git commit too (its core and plugins, taken
with ``git archive``, put in front of ``sys.path`` in the child), runs alternating between the
two, so that the before/after comparison is made in one run under the same machine load.

Run: .venv/bin/python bench/bench_convert_time.py [--runs 5] [--baseline main] [--output-dir bench/results]
"""

from __future__ import annotations

import argparse
import functools
import importlib
import json
import multiprocessing
import os
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from io import BytesIO
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_minilm import _vm_hwm_kib, machine_info, model_folder

ROOT = Path(__file__).resolve().parent.parent
TARGET_S = 6.0  # issue 16, point 5: conversion with validation, imports of embedpipe apart
IMPORTS = "importing torch, transformers, sentence-transformers, onnxruntime"
CONVERSION = "conversion, validation included (imports of embedpipe apart)"
SOURCE_DIRS = ("core/src", "plugins/*/src", "contrib/*/src")


@dataclass(frozen=True)
class Phase:
    """A function on the conversion path whose calls are timed; ``depth`` indents it under its caller."""

    label: str
    module: str
    qualname: str
    depth: int = 1


PHASES = (
    Phase("reading the model, resolving settings, creating components", "embedpipe.pipeline", "ONNXPipeline.__init__"),
    Phase("building the graph", "embedpipe.pipeline", "ONNXPipeline._build"),
    Phase("tokenizer stage", "embedpipe.pipeline", "ONNXPipeline.tokenizer_graph", 2),
    Phase("encoder stage (torch.onnx)", "embedpipe.encoder", "export_encoder", 2),
    Phase("loading the torch model", "embedpipe.encoder", "load_encoder", 3),
    Phase("torch.onnx.export", "torch.onnx", "export", 3),
    Phase("reading the export, weights to the weight folder", "embedpipe.weights", "WeightFolder.externalize", 3),
    Phase("composing stages", "embedpipe.graph", "compose", 2),
    Phase("weights back into the graph", "embedpipe.weights", "WeightFolder.internalize", 2),
    Phase("onnx.checker + op rule", "embedpipe.pipeline", "ONNXPipeline._check", 2),
    Phase("validation", "embedpipe.pipeline", "ONNXPipeline.validate"),
    Phase("loading the sentence-transformers reference", "embedpipe.validate", "reference_model", 2),
    Phase("reference vectors (SentenceTransformer.encode)", "sentence_transformers", "SentenceTransformer.encode", 2),
    Phase("opening the ONNX Runtime session", "embedpipe.runtime", "open_session", 2),
    Phase("graph vectors (ONNX Runtime, text by text)", "embedpipe.runtime", "embed", 2),
    Phase("manifest (sha256 of the model folder)", "embedpipe.pipeline", "build_manifest"),
    Phase("writing the file (sink)", "embedpipe_sinks.file", "FileSink.write"),
)


class Timers:
    """Inclusive wall time per phase label; a phase re-entered from itself is counted once."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}
        self._active: set[str] = set()

    def wrap(self, label: str, function: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(function)
        def timed(*args: Any, **kwargs: Any) -> Any:
            if label in self._active:
                return function(*args, **kwargs)
            self._active.add(label)
            start = time.perf_counter()
            try:
                return function(*args, **kwargs)
            finally:
                self._active.discard(label)
                self.seconds[label] = self.seconds.get(label, 0.0) + time.perf_counter() - start

        return timed


def install(timers: Timers, phase: Phase) -> None:
    """Replace the phase's function by its timed wrapper, where it is defined and wherever it was imported by name."""
    owner: Any = importlib.import_module(phase.module)
    *path, name = phase.qualname.split(".")
    for part in path:
        owner = getattr(owner, part)
    original = getattr(owner, name)
    timed = timers.wrap(phase.label, original)
    setattr(owner, name, timed)
    if path:
        return
    for module in list(sys.modules.values()):
        if getattr(module, "__name__", "").startswith(("embedpipe", "torch.onnx")) and getattr(module, name, None) is original:
            setattr(module, name, timed)


def convert_in_child(folder: str, output_dir: str, source_dirs: list[str]) -> dict[str, Any]:
    """One timed conversion in a fresh process; ``source_dirs`` (a baseline's sources) shadow the installed ones."""
    sys.path[:0] = source_dirs
    start = time.perf_counter()
    from embedpipe.pipeline import ONNXPipeline

    imported = time.perf_counter()
    import onnxruntime  # noqa: F401
    import sentence_transformers  # noqa: F401
    import torch  # noqa: F401
    import transformers.modeling_utils  # noqa: F401

    libraries = time.perf_counter()
    import embedpipe

    timers = Timers()
    importlib.import_module("embedpipe_sinks.file")
    for phase in PHASES:
        install(timers, phase)
    converting = time.perf_counter()
    path = ONNXPipeline(folder).export2file("all-MiniLM-L6-v2", output_dir)
    done = time.perf_counter()
    return {
        "embedpipe_from": str(Path(embedpipe.__file__).parent),
        "import_embedpipe_s": imported - start,
        "phases_s": {IMPORTS: libraries - imported, **timers.seconds, CONVERSION: done - imported},
        "peak_rss_mb": _vm_hwm_kib() / 1024,
        "file_mb": path.stat().st_size / 1e6,
    }


def baseline_sources(ref: str, into: Path) -> list[str]:
    """The source folders of ``ref``'s core and plugins, exported from git into ``into``."""
    archive = subprocess.run(["git", "-C", str(ROOT), "archive", ref, "core", "plugins", "contrib"], capture_output=True, check=True)
    with tarfile.open(fileobj=BytesIO(archive.stdout)) as tar:
        tar.extractall(into, filter="data")
    return [str(path) for pattern in SOURCE_DIRS for path in sorted(into.glob(pattern))]


def run_all(runs: int, baseline: str | None) -> dict[str, list[dict[str, Any]]]:
    """``runs`` conversions per code tree, alternating trees run by run, each in its own child."""
    folder = model_folder()
    with tempfile.TemporaryDirectory(prefix="embedpipe-convert-time-") as work:
        trees: dict[str, list[str]] = {"this tree": []}
        if baseline:
            trees = {f"baseline {baseline}": baseline_sources(baseline, Path(work) / "baseline"), **trees}
        results: dict[str, list[dict[str, Any]]] = {name: [] for name in trees}
        context = multiprocessing.get_context("spawn")
        for index in range(runs):
            for name, dirs in trees.items():
                print(f"run {index + 1}/{runs}: {name} ...", file=sys.stderr)
                with ProcessPoolExecutor(max_workers=1, mp_context=context) as executor:
                    out = Path(work) / f"out-{len(results[name])}-{name.split()[0]}"
                    results[name].append(executor.submit(convert_in_child, str(folder), str(out), dirs).result())
    return results


def summarize(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """Median per phase over the runs (a phase missing from a run counts 0 there), and the other figures."""
    labels = [IMPORTS, *(p.label for p in PHASES), CONVERSION]
    return {
        "runs": len(runs),
        "embedpipe_from": runs[0]["embedpipe_from"],
        "median_s": {label: statistics.median(r["phases_s"].get(label, 0.0) for r in runs) for label in labels},
        "conversion_s_per_run": [r["phases_s"][CONVERSION] for r in runs],
        "import_embedpipe_s": statistics.median(r["import_embedpipe_s"] for r in runs),
        "peak_rss_mb": statistics.median(r["peak_rss_mb"] for r in runs),
        "file_mb": runs[0]["file_mb"],
    }


def markdown(results: dict[str, Any]) -> str:
    """One table: each phase's median per tree, and the ratio this tree / baseline when there is one."""
    trees = results["trees"]
    names = list(trees)
    info = results["machine"]
    head = "| phase | " + " | ".join(f"{name} (s)" for name in names) + (" | ratio |" if len(names) == 2 else " |")
    lines = [
        f"# Conversion time of all-MiniLM-L6-v2, phase by phase (median of {trees[names[-1]]['runs']} runs per tree)",
        "",
        f"{info['cpu_model']}, {info['usable_cpus']} usable CPUs, load average at start "
        f"{'/'.join(f'{x:.1f}' for x in info['load_average_at_start'])}, at end "
        f"{'/'.join(f'{x:.1f}' for x in info['load_average_at_end'])}, {info['date'][:10]}",
        "",
        head,
        "|---|" + "---:|" * (len(names) + (len(names) == 2)),
    ]
    labels = [(0, IMPORTS), *((p.depth, p.label) for p in PHASES), (0, CONVERSION)]
    for depth, label in labels:
        values = [trees[name]["median_s"][label] for name in names]
        cells = " | ".join(f"{v:.2f}" for v in values)
        ratio = f" | {values[1] / values[0]:.2f}x" if len(values) == 2 and values[0] else (" | " if len(values) == 2 else "")
        shown = f"**{label}**" if depth == 0 else "&nbsp;&nbsp;" * (depth - 1) + label
        lines.append(f"| {shown} | {cells}{ratio} |")
    for key, title in (("peak_rss_mb", "peak RSS (MB)"), ("file_mb", "output file (MB)")):
        values = [trees[name][key] for name in names]
        ratio = f" | {values[1] / values[0]:.2f}x" if len(values) == 2 else ""
        lines.append(f"| {title} | " + " | ".join(f"{v:.1f}" for v in values) + f"{ratio} |")
    last = trees[names[-1]]["median_s"][CONVERSION]
    met = "met" if last <= TARGET_S else "missed"
    lines += ["", f"- conversion with validation, this tree: **{last:.1f} s** (target <= {TARGET_S:.0f} s: {met})"]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5, help="conversions per code tree (default 5)")
    parser.add_argument("--baseline", help="a git ref whose conversion code is timed too, alternating with this tree's")
    parser.add_argument("--output-dir", type=Path, default=ROOT / "bench" / "results")
    args = parser.parse_args(argv)
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # as bench_minilm: torch's threads must not spin
    results: dict[str, Any] = {"machine": machine_info(threads=0), "baseline": args.baseline}
    raw = run_all(args.runs, args.baseline)
    results["machine"]["load_average_at_end"] = os.getloadavg()
    results["trees"] = {name: summarize(runs) for name, runs in raw.items()}
    results["raw"] = raw
    args.output_dir.mkdir(parents=True, exist_ok=True)
    (args.output_dir / "convert_time.json").write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    table = markdown(results)
    (args.output_dir / "convert_time.md").write_text(table, encoding="utf-8")
    print(table)


if __name__ == "__main__":
    main()
