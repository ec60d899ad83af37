"""Single-string latency of each tokenizer family's stage, on the same corpus.

Why: the tokenizer sub-graph runs once per `VECTOR_EMBEDDING` call inside the database, so its cost
per string is what each family adds to the encoder. Tiny models with locally trained tokenizers
(tests/models.py) stand in for the real ones: a stage's cost depends on the op and the text, not on
the encoder. Hugging Face's `tokenizers` (Rust, one string per call) is printed beside each as a
yardstick. One thread, ORT spinning off, contenders interleaved text by text.

Run: `.venv/bin/python bench/bench_tokenizers.py [--quick]`; writes bench/results/tokenizers.{json,md}.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from importlib import metadata
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

# family -> registered tokenizer stage measured for it
STAGES = {
    "bert-uncased": "bert", "bert-uncased (op)": "bert-op",
    "roberta": "bpe", "roberta (op)": "roberta-op", "gpt2": "bpe", "gpt2 (op)": "gpt2-op",
    "xlmr": "unigram", "xlmr (op)": "sentencepiece-op", "t5": "unigram", "t5 (op)": "sentencepiece-op",
}
MAX_LENGTH = 128


def _texts(quick: bool) -> list[str]:
    lines = [line for line in (ROOT / "tests" / "data" / "real_text.txt").read_text(encoding="utf-8").splitlines() if line.strip()]
    return lines[:200] if quick else lines


def _stage(family: str, stage: str, root: Path):  # type: ignore[no-untyped-def]
    from embedpipe.components import TokenizerOptions
    from embedpipe.plugins import get_plugin_manager
    from embedpipe.runtime import open_session
    from embedpipe.source import read_folder

    from tests.models import build_tiny_model

    model = family.split(" ")[0]
    folder = root / model / model
    if not folder.is_dir():
        build_tiny_model(root / model, model)
    tokenizer = get_plugin_manager().create("tokenizers", stage)
    graph = tokenizer.build_graph(read_folder(folder), TokenizerOptions(MAX_LENGTH, None, False, 17))
    return open_session(graph, threads=1), folder


def _time(call, text: str) -> float:  # type: ignore[no-untyped-def]
    start = time.perf_counter()
    call(text)
    return (time.perf_counter() - start) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="200 lines, one round: proves the script works")
    args = parser.parse_args()
    from tokenizers import Tokenizer

    texts = _texts(args.quick)
    rounds = 1 if args.quick else 3
    rows = []
    with tempfile.TemporaryDirectory(prefix="embedpipe-bench-") as tmp:
        contenders = {}
        for family, stage in STAGES.items():
            session, folder = _stage(family, stage, Path(tmp))
            reference = Tokenizer.from_file(str(folder / "tokenizer.json"))
            reference.enable_truncation(MAX_LENGTH)
            contenders[family] = (session, reference)
        timings: dict[str, tuple[list[float], list[float]]] = {family: ([], []) for family in STAGES}
        for _ in range(rounds):
            for text in texts:
                batch = np.array([text], dtype=object)
                for family, (session, reference) in contenders.items():
                    timings[family][0].append(_time(lambda _, s=session, b=batch: s.run(None, {"input": b}), text))
                    timings[family][1].append(_time(reference.encode, text))
    for family, (graph, hf) in timings.items():
        rows.append({
            "family": family, "stage": STAGES[family],
            "graph_median_ms": statistics.median(graph), "graph_p90_ms": float(np.percentile(graph, 90)),
            "hf_tokenizers_median_ms": statistics.median(hf),
        })
    result = {
        "what": "single-string latency of the tokenizer stage (max_length 128), 1 thread, tests/data/real_text.txt",
        "texts": len(texts), "rounds": rounds,
        "versions": {p: metadata.version(p) for p in ("onnxruntime", "onnxruntime-extensions", "tokenizers")},
        "rows": rows,
    }
    table = ["| family | stage | graph median ms | graph p90 ms | HF tokenizers median ms |", "|---|---|---:|---:|---:|"]
    table += [f"| {r['family']} | `{r['stage']}` | {r['graph_median_ms']:.3f} | {r['graph_p90_ms']:.3f} | {r['hf_tokenizers_median_ms']:.3f} |"
              for r in rows]
    print("\n".join(table))
    if not args.quick:
        out = ROOT / "bench" / "results"
        (out / "tokenizers.json").write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
        (out / "tokenizers.md").write_text(
            f"# Tokenizer stages: single-string latency\n\n{result['what']}; {len(texts)} lines x {rounds} rounds; "
            f"versions {result['versions']}.\n\n" + "\n".join(table) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
