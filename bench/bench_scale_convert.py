"""Whole conversions of real-size models: the exact tokenizer stage against the extension-op stage.

Why: issue 13 asks that converting a model with a real-size vocabulary costs at most 1.5x the time
and memory of converting it with the op stage, and that the whole graph loads in ONNX Runtime
1.15.1 in at most 2x the time of the bare encoder. bench_scale.py can only estimate both by
putting the real-size tokenizers beside all-MiniLM-L6-v2's 22M-parameter encoder; a model that
really carries a 119,547-, 50,257- or 250,002-entry vocabulary has an embedding matrix of that many
rows and an encoder of 100M parameters or more. This script writes, for each family, a
random-weight encoder of a real model's shape (the table below) with bench_scale's real-size
tokenizer and sentence-transformers files (mean pooling, Normalize), then, each in a fresh child:

1. converts it with ``ONNXPipeline(...).export2file`` twice, once with the exact stage (``oracle``
   profile, the default) and once with the family's op stage, validation off in both (the op stages
   differ from Hugging Face by design, so their validation may refuse; a random-weight encoder
   makes validation's figures meaningless anyway), reporting wall time and peak RSS (VmHWM);
2. exports the bare encoder (``export_encoder``, the encoder the whole graph wraps);
3. loads the bare encoder and both whole graphs in ONNX Runtime 1.15.1 + extensions 0.10.1 (the
   compatibility venv; one thread, spinning off, files interleaved round by round), median;
4. runs both whole graphs on real lines (one string per call, one thread, spinning off, the two
   graphs interleaved line by line): what a database scan pays per row, tokenizer and encoder.

Run: ``HF_HUB_OFFLINE=1 .venv/bin/python bench/bench_scale_convert.py [--families unigram] [--lines 200]``;
writes bench/results/scale_convert.{json,md}. Needs about 3 GB of memory and 4 GB of disk.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
import bench_scale
from bench_minilm import machine_info

CONVERSION_TARGET = 1.5
LOAD_TARGET = 2.0

# family -> (the real model whose shape is used, transformers config class, model class, config fields)
SHAPES: dict[str, tuple[str, str, str, dict[str, Any]]] = {
    "wordpiece": (
        "bert-base-multilingual-cased (178M)", "BertConfig", "BertModel",
        {"hidden_size": 768, "num_hidden_layers": 12, "num_attention_heads": 12, "intermediate_size": 3072, "max_position_embeddings": 512},
    ),
    "gpt2": ("gpt2 (124M)", "GPT2Config", "GPT2Model", {"n_embd": 768, "n_layer": 12, "n_head": 12, "n_positions": 1024}),
    "roberta": (
        "roberta-base (125M)", "RobertaConfig", "RobertaModel",
        {"hidden_size": 768, "num_hidden_layers": 12, "num_attention_heads": 12, "intermediate_size": 3072,
         "max_position_embeddings": 514, "pad_token_id": 1, "bos_token_id": 0, "eos_token_id": 2},
    ),
    "unigram": (
        "multilingual-e5-small (118M)", "XLMRobertaConfig", "XLMRobertaModel",
        {"hidden_size": 384, "num_hidden_layers": 12, "num_attention_heads": 12, "intermediate_size": 1536,
         "max_position_embeddings": 514, "pad_token_id": 1, "bos_token_id": 0, "eos_token_id": 2},
    ),
}  # fmt: skip
MAX_SEQ_LENGTH = 512


def write_model(family: str, folder: Path) -> int:
    """A random-weight encoder of the family's real shape, sized to the tokenizer in ``folder``,
    with sentence-transformers' module files; returns its parameter count."""
    import torch
    import transformers

    _, config_class, model_class, fields = SHAPES[family]
    torch.manual_seed(0)
    config = getattr(transformers, config_class)(vocab_size=bench_scale.vocab_size(folder), **fields)
    model = getattr(transformers, model_class)(config)
    model.save_pretrained(str(folder))
    params = sum(p.numel() for p in model.parameters())
    if family == "gpt2":  # GPT2 has no padding token; embedding models built on it use <|endoftext|>
        settings = json.loads((folder / "tokenizer_config.json").read_text(encoding="utf-8"))
        (folder / "tokenizer_config.json").write_text(json.dumps({**settings, "pad_token": "<|endoftext|>"}), encoding="utf-8")
    modules = [
        {"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
        {"idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"},
        {"idx": 2, "name": "2", "path": "2_Normalize", "type": "sentence_transformers.models.Normalize"},
    ]
    (folder / "modules.json").write_text(json.dumps(modules))
    (folder / "sentence_bert_config.json").write_text(json.dumps({"max_seq_length": MAX_SEQ_LENGTH, "do_lower_case": False}))
    (folder / "1_Pooling").mkdir(exist_ok=True)
    pooling = {"word_embedding_dimension": model.config.hidden_size, "pooling_mode_mean_tokens": True}
    (folder / "1_Pooling" / "config.json").write_text(json.dumps(pooling))
    return params


def op_model_folder(family: bench_scale.Family, root: Path) -> Path:
    """The model folder the op stage converts: the model itself, or (where the op refuses the real
    tokenizer settings) the same weights beside the op-accepted tokenizer files."""
    if family.op_folder is None:
        return family.folder
    folder = root / f"{family.name}-op-model"
    folder.mkdir(exist_ok=True)
    for item in family.folder.iterdir():
        target = folder / item.name
        source = family.op_folder / item.name if (family.op_folder / item.name).is_file() else item
        if not target.exists():
            target.symlink_to(source.resolve())
    return folder


# -- the child: one conversion ----------------------------------------------------------------------
def child_convert(folder: str, out: str, tokenizer: str | None) -> dict[str, Any]:
    """Runs in a fresh interpreter: convert the folder, report wall time (imports apart) and VmHWM."""
    from embedpipe import ONNXPipeline, ONNXPipelineConfig

    start = time.perf_counter()
    config = ONNXPipelineConfig(tokenizer=tokenizer, validate=False)
    pipe = ONNXPipeline(folder, config)
    path = pipe.export2file(Path(out).stem, Path(out).parent)
    elapsed = time.perf_counter() - start
    return {"convert_s": elapsed, "peak_rss_mb": _vm_hwm_mb(), "file": str(path), "bytes": path.stat().st_size}


def _vm_hwm_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmHWM in /proc/self/status")


def run_child(argv: list[str]) -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, str(Path(__file__).resolve()), *argv],
        capture_output=True, check=False, text=True, env={**os.environ, "OMP_WAIT_POLICY": "PASSIVE"},
    )  # fmt: skip
    lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
    if done.returncode != 0 or not lines:
        return {"error": " | ".join((done.stderr or done.stdout).strip().splitlines()[-3:])[-400:]}
    return json.loads(lines[-1])


# -- whole-graph latency ------------------------------------------------------------------------------
def measure_latency(files: dict[str, Path], lines: list[str], rounds: int) -> dict[str, Any]:
    """Median ms per line of each whole graph, interleaved line by line, and the paired ratio."""
    import numpy as np
    import onnxruntime as ort
    import onnxruntime_extensions as ortx

    def session(path: Path) -> Any:
        options = ort.SessionOptions()
        options.register_custom_ops_library(ortx.get_library_path())
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        options.intra_op_num_threads = 1
        options.inter_op_num_threads = 1
        return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])

    sessions = {name: session(path) for name, path in files.items()}
    names = list(sessions)
    times: dict[str, list[float]] = {name: [] for name in names}
    for r in range(rounds):
        for i, line in enumerate(lines):
            order = names if (i + r) % 2 == 0 else names[::-1]
            for name in order:
                feed = {sessions[name].get_inputs()[0].name: np.array([line], dtype=object)}
                start = time.perf_counter()
                sessions[name].run(None, feed)
                times[name].append(time.perf_counter() - start)
    exact, op = times["exact"], times["op"]
    return {
        "median_ms": {name: 1000 * statistics.median(t) for name, t in times.items()},
        "paired_ratio": statistics.median(e / o for e, o in zip(exact, op)),
        "lines": len(lines),
        "rounds": rounds,
    }


# -- the run ---------------------------------------------------------------------------------------------
def run_family(name: str, root: Path, args: argparse.Namespace, log) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    family = bench_scale.FAMILIES[name]
    bench_scale.make_folder(family, root)
    log(f"{name}: writing a random-weight {SHAPES[name][0]} encoder ...")
    result: dict[str, Any] = {"model_shape": SHAPES[name][0], "tokenizer": family.source, "op_stage": family.op_stage, "op_note": family.op_note}
    result["vocabulary"] = bench_scale.vocab_size(family.folder)
    result["parameters"] = write_model(name, family.folder)
    out = root / "out"
    out.mkdir(exist_ok=True)
    jobs = {
        "exact": ["--child-convert", str(family.folder), str(out / f"{name}-exact.onnx")],
        "op": ["--child-convert", str(op_model_folder(family, root)), str(out / f"{name}-op.onnx"), "--tokenizer", family.op_stage],
    }
    for round_ in range(args.convert_rounds):
        for kind in list(jobs) if round_ % 2 == 0 else list(jobs)[::-1]:
            log(f"{name}: converting with the {kind} stage (round {round_ + 1}) ...")
            figures = run_child(jobs[kind])
            result.setdefault(kind, []).append(figures)
            log(f"  {figures}")
    log(f"{name}: exporting the bare encoder ...")
    encoder_file = out / f"{name}-encoder.onnx"
    result["encoder"] = bench_scale.run_build("encoder", name, family.folder, encoder_file, MAX_SEQ_LENGTH, family.with_token_type_ids)
    graphs = {kind: Path(result[kind][-1]["file"]) for kind in jobs if "error" not in result[kind][-1]}
    if len(graphs) == 2 and "error" not in result["encoder"]:
        log(f"{name}: load times in ONNX Runtime 1.15.1 ...")
        result["load"] = bench_scale.measure_load({"encoder": encoder_file, **graphs}, args.load_rounds)
        log(f"{name}: whole-graph latency on {args.lines} real lines ...")
        lines = bench_scale.real_lines()
        step = max(1, len(lines) // args.lines)
        result["latency"] = measure_latency(graphs, lines[::step][: args.lines], args.rounds)
    shutil.rmtree(out, ignore_errors=True)
    return result


def summarise(figures: list[dict[str, Any]], key: str) -> float | None:
    values = [f[key] for f in figures if key in f]
    return statistics.median(values) if values else None


def markdown(results: dict[str, Any]) -> str:
    machine = results["machine"]
    out = [
        "# Whole conversions of real-size models: exact stage vs op stage",
        "",
        (
            f"{machine['date']}, {machine['usable_cpus']} usable CPUs, {machine['platform']}, versions {machine['versions']}; "
            f"load average {machine['load_average_at_start']} at start, {results['load_average_at_end']} at end "
            "(ratios are measured in one run, interleaved; absolute times move with the machine's other work). "
            f"Random-weight encoders of the real shape, max_seq_length {MAX_SEQ_LENGTH}, mean pooling + Normalize, validation off."
        ),
        "",
        (
            "## Conversion (`export2file`, fresh child each, median of the rounds; target: exact <= "
            f"{CONVERSION_TARGET}x the op stage in time and peak memory)"
        ),
        "",
        "| family | model shape | parameters | vocabulary | op stage | exact s | op s | time exact/op | exact peak MB | op peak MB | memory exact/op | exact MB on disk | op MB on disk |",
        "|---|---|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for name, r in results["families"].items():
        es, os_ = summarise(r["exact"], "convert_s"), summarise(r["op"], "convert_s")
        em, om = summarise(r["exact"], "peak_rss_mb"), summarise(r["op"], "peak_rss_mb")
        eb, ob = summarise(r["exact"], "bytes"), summarise(r["op"], "bytes")
        if None in (es, os_, em, om):
            errors = [f.get("error") for f in r["exact"] + r["op"] if "error" in f]
            out.append(f"| {name} | {r['model_shape']} | {r['parameters']:,} | {r['vocabulary']:,} | `{r['op_stage']}` | error: {errors[:1]} |||||||||")
            continue
        t, m = es / os_, em / om
        out.append(
            f"| {name} | {r['model_shape']} | {r['parameters']:,} | {r['vocabulary']:,} | `{r['op_stage']}` | {es:.1f} | {os_:.1f} | "
            f"{t:.2f} {'✓' if t <= CONVERSION_TARGET else '✗'} | {em:.0f} | {om:.0f} | {m:.2f} {'✓' if m <= CONVERSION_TARGET else '✗'} | "
            f"{eb / 1e6:.1f} | {ob / 1e6:.1f} |"
        )
    out += [
        "",
        f"## Load time in ONNX Runtime 1.15.1 (median; target: whole exact graph <= {LOAD_TARGET}x the bare encoder)",
        "",
        "| family | bare encoder ms | whole exact ms | whole op ms | exact / encoder | op / encoder |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for name, r in results["families"].items():
        load = r.get("load", {})
        medians = load.get("median_s", {})
        if not all(k in medians for k in ("encoder", "exact", "op")):
            out.append(f"| {name} | not measured: {load.get('error') or load.get('errors') or r.get('encoder', {}).get('error')} |||||")
            continue
        enc, ex, op = (1000 * medians[k] for k in ("encoder", "exact", "op"))
        out.append(f"| {name} | {enc:.0f} | {ex:.0f} | {op:.0f} | {ex / enc:.2f} {'✓' if ex / enc <= LOAD_TARGET else '✗'} | {op / enc:.2f} |")
    out += [
        "",
        "## A row through the whole graph (one string per call, one thread, median ms per real line)",
        "",
        "| family | lines x rounds | whole exact ms | whole op ms | exact / op (paired) |",
        "|---|---:|---:|---:|---:|",
    ]
    for name, r in results["families"].items():
        lat = r.get("latency")
        if lat:
            med = lat["median_ms"]
            out.append(f"| {name} | {lat['lines']} x {lat['rounds']} | {med['exact']:.2f} | {med['op']:.2f} | {lat['paired_ratio']:.3f} |")
    notes = [r["op_note"] for r in results["families"].values() if r.get("op_note")]
    out += ["", *(f"- {note}" for note in notes), "", f"Total bench time {results['total_s']:.0f} s.", ""]
    return "\n".join(out)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--families", default=",".join(SHAPES), help=f"comma-separated, from {', '.join(SHAPES)}")
    parser.add_argument("--convert-rounds", type=int, default=2, help="conversions per stage kind, alternating (default 2)")
    parser.add_argument("--load-rounds", type=int, default=3, help="load-time rounds after a warm-up load (default 3)")
    parser.add_argument("--lines", type=int, default=300, help="real lines for the whole-graph latency (default 300)")
    parser.add_argument("--rounds", type=int, default=2, help="latency rounds (default 2)")
    parser.add_argument("--output-dir", type=Path, default=Path(__file__).resolve().parent / "results")
    parser.add_argument("--child-convert", nargs=2, default=None, help=argparse.SUPPRESS)
    parser.add_argument("--tokenizer", default=None, help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    if args.child_convert:
        print(json.dumps(child_convert(*args.child_convert, args.tokenizer)))
        return
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    started = time.perf_counter()

    def log(message: str) -> None:
        print(f"[{time.perf_counter() - started:7.1f}s] {message}", flush=True)

    results: dict[str, Any] = {"machine": machine_info(threads=1), "families": {}}
    for name in [n.strip() for n in args.families.split(",") if n.strip()]:
        with tempfile.TemporaryDirectory(prefix=f"scale-convert-{name}-") as root:
            results["families"][name] = run_family(name, Path(root), args, log)
    results["load_average_at_end"] = os.getloadavg()
    results["total_s"] = time.perf_counter() - started
    args.output_dir.mkdir(parents=True, exist_ok=True)
    (args.output_dir / "scale_convert.json").write_text(json.dumps(results, indent=2, default=str))
    text = markdown(results)
    (args.output_dir / "scale_convert.md").write_text(text, encoding="utf-8")
    print(text)


if __name__ == "__main__":
    main()
