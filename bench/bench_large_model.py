"""Benchmark the conversion of a large model: peak memory against the size of its weights.

Why: a model above 1 GB goes out as external data, and one above 2 GB cannot be held in one
protobuf at all, so conversion must keep weights on disk and never hold many copies of them.
A synthetic random-weight BERT of bge-large's shape (24 layers, hidden 1024, intermediate 4096,
vocabulary 30522: about 335 M parameters, 1.34 GB in float32) is written as a
sentence-transformers folder (CLS pooling, Normalize, as bge-large-en-v1.5 declares) with the
tokenizer of all-MiniLM-L6-v2 (same vocabulary size), then converted in a freshly spawned child
process, validation included. Reported: wall time, the child's peak RSS (VmHWM) and its ratio
to the weight size, the files written. Never run in CI: it needs about 4 GB of memory (before
the encoder's weights were streamed, 6 GB) and several GB of disk.

Run: .venv/bin/python bench/bench_large_model.py [--output-dir bench/results] [--no-validate]
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import shutil
import sys
import tempfile
import time
import zipfile
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_minilm import _vm_hwm_kib, machine_info, model_folder

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


def convert_in_child(folder: str, output_dir: str, validate: bool) -> dict[str, Any]:
    """Convert with the default configuration (external data is automatic above 1 GB); fresh process, own VmHWM."""
    start = time.perf_counter()
    from embedpipe import ONNXPipeline, ONNXPipelineConfig

    imported = time.perf_counter()
    pipe = ONNXPipeline(folder, ONNXPipelineConfig(validate=validate))
    path = pipe.export2file("large", output_dir)
    done = time.perf_counter()
    return {
        "import_s": imported - start,
        "convert_s": done - imported,
        "peak_rss_mb": _vm_hwm_kib() / 1024,
        "path": str(path),
        "validation": pipe.report.to_dict() if pipe.report else None,
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output-dir", type=Path, default=Path(__file__).resolve().parent / "results")
    parser.add_argument("--no-validate", action="store_true", help="skip the parity check against sentence-transformers")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="embedpipe-large-") as work:
        folder, out = Path(work) / "model", Path(work) / "out"
        folder.mkdir()
        weight_bytes = build_model(folder)
        ctx = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(max_workers=1, mp_context=ctx) as executor:
            result = executor.submit(convert_in_child, str(folder), str(out), not args.no_validate).result()
        with zipfile.ZipFile(result["path"]) as archive:
            entries = {info.filename: info.file_size for info in archive.infolist()}
    results = {
        "machine": machine_info(threads=0),
        "model": {"shape": SHAPE, "weight_mb": weight_bytes / 1e6},
        "conversion": {**result, "zip_entries_mb": {k: v / 1e6 for k, v in entries.items()}},
        "peak_rss_over_weights": result["peak_rss_mb"] * 2**20 / weight_bytes,
    }
    args.output_dir.mkdir(parents=True, exist_ok=True)
    (args.output_dir / "large_model.json").write_text(json.dumps(results, indent=2, default=str))
    table = markdown(results)
    (args.output_dir / "large_model.md").write_text(table)
    print(table)


def markdown(results: dict[str, Any]) -> str:
    conversion = results["conversion"]
    validation = conversion["validation"]
    parity = f"min cos {validation['min_cosine']:.6f}" if validation else "skipped"
    rows = [
        "| figure | value |",
        "|---|---:|",
        f"| weights (float32) | {results['model']['weight_mb']:.0f} MB |",
        f"| conversion wall time (imports apart) | {conversion['convert_s']:.0f} s (+{conversion['import_s']:.0f} s) |",
        f"| peak RSS of the converting process | {conversion['peak_rss_mb']:.0f} MiB |",
        f"| peak RSS / weight size | {results['peak_rss_over_weights']:.2f}x |",
        f"| validation vs sentence-transformers | {parity} |",
    ]
    rows += [f"| zip entry `{name}` | {size:.1f} MB |" for name, size in conversion["zip_entries_mb"].items()]
    return "# Large model conversion (synthetic bge-large shape)\n\n" + "\n".join(rows) + "\n"


if __name__ == "__main__":
    main()
