"""Benchmark the conversion of a large model: peak memory against the size of its weights.

Why: a model above 1 GB goes out as external data, and one above 2 GB cannot be held in one
protobuf at all, so conversion must keep weights on disk and never hold many copies of them.
A synthetic random-weight BERT of bge-large's shape (24 layers, hidden 1024, intermediate 4096,
vocabulary 30522: about 335 M parameters, 1.34 GB in float32) is written as a
sentence-transformers folder (CLS pooling, Normalize, as bge-large-en-v1.5 declares) with the
tokenizer of all-MiniLM-L6-v2 (same vocabulary size), then converted in a freshly spawned child
process, validation included. The child first imports what any conversion needs (embedpipe,
torch, transformers, sentence-transformers, onnxruntime); its RSS then is the import baseline,
and the figure of issue 16 is (peak RSS - baseline) / weight bytes (target at most 1.6). A thread
samples the RSS every 20 ms and keeps the highest value per progress step, to show which step
makes the peak. Reported: wall time, the child's peak RSS (VmHWM), baseline, both ratios, the
peak per step, the files written. Never run in CI: it needs about 4 GB of memory and several GB
of disk.

``--baseline REF`` converts with the code of a git commit too (as bench_convert_time.py does), in
the same run, so the before/after figures share the machine's state.

Run: .venv/bin/python bench/bench_large_model.py [--output-dir bench/results] [--no-validate] [--baseline REF]
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import shutil
import sys
import tempfile
import threading
import time
import zipfile
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_convert_time import baseline_sources
from bench_minilm import _vm_hwm_kib, machine_info, model_folder

TARGET_OVER_BASELINE = 1.6  # issue 16, point 4: (peak RSS - import baseline) / weights, with validation
SHAPE = {"num_hidden_layers": 24, "hidden_size": 1024, "intermediate_size": 4096, "num_attention_heads": 16, "vocab_size": 30522}
TOKENIZER_FILES = ("tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "vocab.txt")


def build_model(folder: Path) -> int:
    """Write the synthetic model; returns its weight bytes (float32)."""
    import torch
    from transformers import BertConfig, BertModel

    torch.manual_seed(0)
    model = BertModel(BertConfig(**SHAPE, max_position_embeddings=512))
    model.save_pretrained(str(folder))
    weight_bytes = sum(p.numel() * p.element_size() for p in model.parameters())
    del model
    source = model_folder()
    for name in TOKENIZER_FILES:
        shutil.copy(source / name, folder / name)
    modules = [
        {"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
        {"idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"},
        {"idx": 2, "name": "2", "path": "2_Normalize", "type": "sentence_transformers.models.Normalize"},
    ]
    (folder / "modules.json").write_text(json.dumps(modules))
    (folder / "sentence_bert_config.json").write_text(json.dumps({"max_seq_length": 512, "do_lower_case": True}))
    (folder / "1_Pooling").mkdir()
    (folder / "1_Pooling" / "config.json").write_text(
        json.dumps({"word_embedding_dimension": 1024, "pooling_mode_cls_token": True, "pooling_mode_mean_tokens": False})
    )
    (folder / "2_Normalize").mkdir()
    return weight_bytes


def _rss_bytes() -> int:
    return int(Path("/proc/self/statm").read_text().split()[1]) * os.sysconf("SC_PAGE_SIZE")


class StepPeaks:
    """The highest RSS sampled during each progress step of the pipeline (sampled, so a spike shorter
    than the interval may be missed; VmHWM is the exact peak)."""

    def __init__(self, interval: float = 0.02) -> None:
        self.step = "starting"
        self.peaks: dict[str, int] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, args=(interval,), daemon=True)
        self._thread.start()

    def progress(self, step: str) -> None:
        self.step = step

    def _sample(self, interval: float) -> None:
        while not self._stop.wait(interval):
            step, rss = self.step, _rss_bytes()
            self.peaks[step] = max(self.peaks.get(step, 0), rss)

    def stop(self) -> dict[str, int]:
        self._stop.set()
        self._thread.join()
        return self.peaks


def convert_in_child(folder: str, output_dir: str, validate: bool, source_dirs: list[str]) -> dict[str, Any]:
    """Convert with the default configuration (external data is automatic above 1 GB); fresh process, own VmHWM.

    ``source_dirs`` (a baseline's sources) shadow the installed ones.
    """
    sys.path[:0] = source_dirs
    start = time.perf_counter()
    import embedpipe
    import onnxruntime  # noqa: F401
    import sentence_transformers  # noqa: F401
    import torch  # noqa: F401
    import transformers.modeling_utils  # noqa: F401
    from embedpipe import ONNXPipeline, ONNXPipelineConfig

    imported = time.perf_counter()
    baseline = _rss_bytes()
    steps = StepPeaks()
    pipe = ONNXPipeline(folder, ONNXPipelineConfig(validate=validate), progress=steps.progress)
    path = pipe.export2file("large", output_dir)
    done = time.perf_counter()
    peaks = steps.stop()
    return {
        "embedpipe_from": str(Path(embedpipe.__file__).parent),
        "import_s": imported - start,
        "convert_s": done - imported,
        "baseline_rss_mb": baseline / 2**20,
        "peak_rss_mb": _vm_hwm_kib() / 1024,
        "step_peak_rss_mb": {step: rss / 2**20 for step, rss in peaks.items()},
        "path": str(path),
        "validation": pipe.report.to_dict() if pipe.report else None,
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output-dir", type=Path, default=Path(__file__).resolve().parent / "results")
    parser.add_argument("--no-validate", action="store_true", help="skip the parity check against sentence-transformers")
    parser.add_argument("--baseline", help="a git ref whose conversion code is measured too, before this tree's")
    args = parser.parse_args(argv)
    results: dict[str, Any] = {"machine": machine_info(threads=0), "baseline": args.baseline, "validate": not args.no_validate}
    with tempfile.TemporaryDirectory(prefix="embedpipe-large-") as work:
        folder = Path(work) / "model"
        folder.mkdir()
        weight_bytes = build_model(folder)
        results["model"] = {"shape": SHAPE, "weight_mb": weight_bytes / 1e6}
        trees: dict[str, list[str]] = {"this tree": []}
        if args.baseline:
            trees = {f"baseline {args.baseline}": baseline_sources(args.baseline, Path(work) / "baseline"), **trees}
        results["trees"] = {}
        for index, (name, dirs) in enumerate(trees.items()):
            print(f"converting with {name} ...", file=sys.stderr)
            out = Path(work) / f"out{index}"
            ctx = multiprocessing.get_context("spawn")
            with ProcessPoolExecutor(max_workers=1, mp_context=ctx) as executor:
                result = executor.submit(convert_in_child, str(folder), str(out), not args.no_validate, dirs).result()
            with zipfile.ZipFile(result["path"]) as archive:
                result["zip_entries_mb"] = {info.filename: info.file_size / 1e6 for info in archive.infolist()}
            shutil.rmtree(out)
            result["peak_rss_over_weights"] = result["peak_rss_mb"] * 2**20 / weight_bytes
            result["peak_above_baseline_over_weights"] = (result["peak_rss_mb"] - result["baseline_rss_mb"]) * 2**20 / weight_bytes
            results["trees"][name] = result
    results["machine"]["load_average_at_end"] = os.getloadavg()
    args.output_dir.mkdir(parents=True, exist_ok=True)
    stem = "large_model" if not args.no_validate else "large_model_no_validate"
    (args.output_dir / f"{stem}.json").write_text(json.dumps(results, indent=2, default=str))
    table = markdown(results)
    (args.output_dir / f"{stem}.md").write_text(table)
    print(table)


def markdown(results: dict[str, Any]) -> str:
    """One column per code tree; the ratio rows are issue 16's figures."""
    trees = results["trees"]
    names = list(trees)
    info = results["machine"]

    def row(title: str, cell: Any) -> str:
        return f"| {title} | " + " | ".join(cell(trees[name]) for name in names) + " |"

    def parity(tree: dict[str, Any]) -> str:
        validation = tree["validation"]
        if not validation:
            return "skipped"
        forgiven = sum(lim["lines"] for lim in validation["forgiven_by_declared_limitation"].values())
        return f"{'pass' if validation['ok'] else 'FAIL'}, min cos {validation['min_cosine_outside_declared']:.6f} ({forgiven} line(s) of a declared limitation apart)"

    steps = list(dict.fromkeys(step for name in names for step in trees[name]["step_peak_rss_mb"]))
    rows = [
        "| figure | " + " | ".join(names) + " |",
        "|---|" + "---:|" * len(names),
        row("weights (float32)", lambda t: f"{results['model']['weight_mb']:.0f} MB"),
        row("conversion wall time (imports apart)", lambda t: f"{t['convert_s']:.0f} s (+{t['import_s']:.0f} s)"),
        row("RSS after imports (baseline)", lambda t: f"{t['baseline_rss_mb']:.0f} MiB"),
        row("peak RSS of the converting process", lambda t: f"{t['peak_rss_mb']:.0f} MiB"),
        row("peak RSS / weight size", lambda t: f"{t['peak_rss_over_weights']:.2f}x"),
        row("**(peak RSS - baseline) / weight size**", lambda t: f"**{t['peak_above_baseline_over_weights']:.2f}x**"),
        row("validation vs sentence-transformers", parity),
    ]
    rows += [row(f"sampled peak while {step}", lambda t, s=step: f"{t['step_peak_rss_mb'].get(s, 0):.0f} MiB") for step in steps]
    rows += [row(f"zip entry `{entry}`", lambda t, e=entry: f"{t['zip_entries_mb'].get(e, 0):.1f} MB") for entry in trees[names[-1]]["zip_entries_mb"]]
    last = trees[names[-1]]["peak_above_baseline_over_weights"]
    met = "met" if last <= TARGET_OVER_BASELINE else "missed"
    validated = "with validation" if results["validate"] else "without validation"
    return (
        f"# Large model conversion (synthetic bge-large shape), {validated}\n\n"
        f"{info['cpu_model']}, {info['usable_cpus']} usable CPUs, load average at start "
        f"{'/'.join(f'{x:.1f}' for x in info['load_average_at_start'])}, at end "
        f"{'/'.join(f'{x:.1f}' for x in info['load_average_at_end'])}, {info['date'][:10]}\n\n"
        + "\n".join(rows)
        + f"\n\n- (peak RSS - import baseline) / weights, this tree: **{last:.2f}x** (target <= {TARGET_OVER_BASELINE}: {met})\n"
    )


if __name__ == "__main__":
    main()
