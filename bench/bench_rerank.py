"""Benchmark a reranker graph against sentence-transformers' CrossEncoder.predict: parity and pair latency.

Why: a reranker in the database is only worth having if it scores as the model does and costs about
what the model costs. No real cross-encoder is on this machine, so the reranker is built from
all-MiniLM-L6-v2's real encoder and tokenizer (the shape and vocabulary of
cross-encoder/ms-marco-MiniLM-L-6-v2) with a seeded random one-label head. It is converted with
validation on, then the graph (raw logit, the default) and CrossEncoder.predict (identity activation)
score the same pairs: every query of the corpus against its passages. Latency is one pair per call,
both on one thread with ORT spinning off, interleaved pair by pair (bench_minilm's timing);
CrossEncoder.predict on a batch of 32 pairs is reported beside it per pair.

Run: .venv/bin/python bench/bench_rerank.py [--quick] [--output-dir bench/results]
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_minilm import CORPUS, FULL, QUICK, Contender, Sizes, long_prose, machine_info, model_folder, paired_ratio, short_queries, time_text_set

MAX_LENGTH = 512
PASSAGES_PER_QUERY = 10
BATCH = 32
TOKENIZER_FILES = ("tokenizer.json", "tokenizer_config.json", "vocab.txt", "special_tokens_map.json")
GRAPH, PREDICT = "graph (one pair a call)", "CrossEncoder.predict (one pair a call)"


def reranker_folder(root: Path) -> Path:
    """all-MiniLM-L6-v2's encoder and tokenizer under a seeded random one-label head, as a transformers folder."""
    import torch
    from transformers import BertForSequenceClassification

    torch.manual_seed(0)
    model = BertForSequenceClassification.from_pretrained(str(model_folder()), num_labels=1)
    folder = root / "minilm-reranker"
    model.save_pretrained(str(folder))
    for name in TOKENIZER_FILES:
        shutil.copy(model_folder() / name, folder / name)
    return folder


def pairs_of(lines: list[str], queries: int) -> list[tuple[str, str]]:
    """Each short query against PASSAGES_PER_QUERY passages (long prose and other short lines), plus the edge pairs."""
    asked = short_queries(lines, queries)
    passages = long_prose(lines, queries * PASSAGES_PER_QUERY // 2) + short_queries(lines[::-1], queries * PASSAGES_PER_QUERY // 2)
    pairs = [(q, passages[(i * PASSAGES_PER_QUERY + k) % len(passages)]) for i, q in enumerate(asked) for k in range(PASSAGES_PER_QUERY)]
    return pairs + [("", passages[0]), (asked[0], ""), (" ", " "), (passages[0], passages[1])]


def parity(graph_scores: np.ndarray, reference: np.ndarray, queries: int) -> dict[str, Any]:
    """Largest score difference, and whether each query ranks its passages alike."""
    ranked = graph_scores[: queries * PASSAGES_PER_QUERY].reshape(queries, -1)
    wanted = reference[: queries * PASSAGES_PER_QUERY].reshape(queries, -1)
    same = sum(np.array_equal(np.argsort(-g, kind="stable"), np.argsort(-w, kind="stable")) for g, w in zip(ranked, wanted))
    return {
        "pairs": len(reference),
        "max_abs_difference": float(np.max(np.abs(graph_scores - reference))),
        "queries_ranked_alike": f"{same} of {queries}",
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a smoke run: few pairs, two rounds")
    parser.add_argument("--output-dir", type=Path, default=Path(__file__).resolve().parent / "results")
    args = parser.parse_args(argv)
    sizes: Sizes = QUICK if args.quick else FULL
    queries = max(2, sizes.short // PASSAGES_PER_QUERY)

    import torch
    from embedpipe import ONNXPipeline, ONNXPipelineConfig, contract
    from embedpipe.runtime import open_session
    from sentence_transformers import CrossEncoder

    torch.set_num_threads(1)
    lines = CORPUS.read_text(encoding="utf-8").splitlines()
    pairs = pairs_of(lines, queries)
    with tempfile.TemporaryDirectory() as tmp:
        folder = reranker_folder(Path(tmp))
        start = time.perf_counter()
        pipe = ONNXPipeline(folder, ONNXPipelineConfig(function="regression", max_seq_length=MAX_LENGTH))
        graph_file = pipe.export2file("minilm_reranker", Path(tmp) / "out")
        conversion_s = time.perf_counter() - start
        session = open_session(graph_file, threads=1)
        cross = CrossEncoder(str(folder), device="cpu", max_length=MAX_LENGTH)
        identity = torch.nn.Identity()

        def feed(pair: tuple[str, str]) -> dict[str, np.ndarray]:
            return {name: np.array([text], dtype=object) for name, text in zip(contract.PAIR_TEXTS, pair)}

        graph_scores = np.array([session.run(None, feed(p))[0].reshape(-1)[0] for p in pairs], np.float64)
        reference = cross.predict([list(p) for p in pairs], activation_fn=identity, batch_size=BATCH, convert_to_numpy=True)
        agreement = parity(graph_scores, np.asarray(reference, np.float64), queries)

        timed = pairs[: queries * PASSAGES_PER_QUERY]
        contenders = [
            Contender(GRAPH, feed, lambda f: session.run(None, f)),
            Contender(PREDICT, lambda p: [list(p)], lambda batch: cross.predict(batch, activation_fn=identity, show_progress_bar=False)),
        ]
        time_text_set(contenders, timed, sizes)
        batched = []
        for _ in range(sizes.rounds):
            begin = time.perf_counter()
            cross.predict([list(p) for p in timed], activation_fn=identity, batch_size=BATCH, show_progress_bar=False)
            batched.append((time.perf_counter() - begin) * 1000 / len(timed))

    latency = {
        c.name: statistics.median(t for per_pair in c.times_ms.values() for t in per_pair) for c in contenders
    }
    results = {
        "model": "all-MiniLM-L6-v2 encoder + random one-label head (ms-marco-MiniLM-L-6-v2's shape)",
        "max_length": MAX_LENGTH,
        "conversion_s": round(conversion_s, 1),
        "validation": pipe.report.to_dict() if pipe.report else None,
        "parity_vs_crossencoder_predict": agreement,
        "latency_median_ms": {**latency, f"CrossEncoder.predict (batch of {BATCH}, per pair)": statistics.median(batched)},
        "predict_over_graph_one_pair": paired_ratio(contenders[1], contenders[0]),
        "pairs_timed": len(timed),
        "rounds": sizes.rounds,
        "machine": machine_info(threads=1),
    }
    args.output_dir.mkdir(parents=True, exist_ok=True)
    (args.output_dir / "rerank.json").write_text(json.dumps(results, indent=2, default=str) + "\n")
    (args.output_dir / "rerank.md").write_text(markdown(results))
    print(markdown(results))


def markdown(results: dict[str, Any]) -> str:
    agreement, info = results["parity_vs_crossencoder_predict"], results["machine"]
    lines = [
        "# Benchmark: a reranker graph against CrossEncoder.predict",
        "",
        f"{results['model']}, max_length {results['max_length']}, {info['cpu_model']}, {info['usable_cpus']} usable CPUs, "
        f"one thread each, onnxruntime {info['versions']['onnxruntime']}, sentence-transformers {info['versions']['sentence-transformers']}, {info['date'][:10]}",
        "",
        f"Conversion with validation: {results['conversion_s']} s.",
        "",
        "| parity on the pair corpus | value |",
        "|---|---:|",
        f"| pairs | {agreement['pairs']} |",
        f"| max abs(graph logit - CrossEncoder.predict logit) | {agreement['max_abs_difference']:.2e} |",
        f"| queries whose passages rank alike | {agreement['queries_ranked_alike']} |",
        "",
        "| latency per pair (median) | ms |",
        "|---|---:|",
    ]
    lines += [f"| {name} | {ms:.2f} |" for name, ms in results["latency_median_ms"].items()]
    lines += ["", f"CrossEncoder.predict / graph, one pair a call (paired by pair): {results['predict_over_graph_one_pair']:.2f}x "
              f"over {results['pairs_timed']} pairs x {results['rounds']} rounds."]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
