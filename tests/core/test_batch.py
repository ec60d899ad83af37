"""The batched client-side graph (``batch=True``): string [N] -> float32 [N, D].

Each row must be the single-string graph's vector for that string, whatever else is in the batch
(very different lengths, empty strings, documents past truncation) and wherever the caller put it
(the graph reorders strings by length internally and must put every row back), and
sentence-transformers' vector too.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import numpy as np
import onnx
import pytest
from click.testing import CliRunner
from embedpipe import ONNXPipeline, ONNXPipelineConfig, compat
from embedpipe.batching import DEFAULT_CHUNK
from embedpipe.cli import main
from embedpipe.errors import ConfigError
from embedpipe.oprule import check_op_rule
from embedpipe.runtime import embed, open_session
from embedpipe.samples import SAMPLES
from embedpipe.validate import compare, reference_vectors
from sentence_transformers import SentenceTransformer

from tests.conftest import ORACLE_EXACT_SAMPLES, Convert

MIN_COSINE = 0.9999
# Rows are compared with sentence-transformers too, so the samples the default profile reads exactly;
# the NUL sample still runs batched-vs-single in the order test.
MIXED = ["", "a", "  ", "x" * 20_000, "word " * 600, *ORACLE_EXACT_SAMPLES]


def _run_batches(session, texts: list[str], size: int) -> np.ndarray:  # type: ignore[no-untyped-def]
    rows = [session.run(None, {"input": np.array(texts[i : i + size], dtype=object)})[0] for i in range(0, len(texts), size)]
    return np.concatenate(rows)


@pytest.fixture(scope="module")
def minilm_batched(minilm_dir: Path, converted: Convert) -> Path:
    return converted(minilm_dir, batch=True)[1]


def test_batched_graph_takes_a_batch_of_strings(minilm_batched: Path) -> None:
    model = onnx.load(str(minilm_batched))
    [text], [vector] = model.graph.input, model.graph.output
    assert [d.dim_param or d.dim_value for d in text.type.tensor_type.shape.dim] == ["batch"]
    assert [d.dim_param or d.dim_value for d in vector.type.tensor_type.shape.dim] == ["batch", 384]
    assert check_op_rule(model) == []


def test_rows_equal_the_single_string_graph_and_sentence_transformers(minilm_batched: Path, minilm_export, minilm_reference, real_text) -> None:  # type: ignore[no-untyped-def]
    texts = [*MIXED, *real_text[::25]]
    batched = open_session(minilm_batched)
    _, single_path = minilm_export
    single = np.asarray(embed(open_session(single_path), texts))
    for size in (64, 7, 1):
        rows = _run_batches(batched, texts, size)
        assert rows.shape == (len(texts), 384)
        np.testing.assert_allclose(rows, single, atol=2e-5, err_msg=f"batch size {size}")
    want = minilm_reference.encode(texts, batch_size=64)
    assert (rows * want).sum(axis=1).min() >= MIN_COSINE


@pytest.mark.parametrize("pooling", ["cls", "lasttoken", "max"])
def test_every_pooling_pools_each_row_alone(tiny_model, pooling: str, real_text) -> None:  # type: ignore[no-untyped-def]
    folder = tiny_model("bert-cased", pooling=pooling)
    texts = [*MIXED, *real_text[::200]]
    single = np.asarray(embed(open_session(ONNXPipeline(folder, ONNXPipelineConfig(validate=False)).build()), texts))
    batched = open_session(ONNXPipeline(folder, ONNXPipelineConfig(batch=True, validate=False)).build())
    np.testing.assert_allclose(_run_batches(batched, texts, 16), single, atol=2e-5)


@pytest.mark.parametrize("family", ["roberta", "gpt2", "xlmr", "t5", "mpnet"])
def test_every_tokenizer_family_batches(tiny_model, family: str, real_text) -> None:  # type: ignore[no-untyped-def]
    """Batching moves whatever nodes a tokenizer stage has (Loops and Ifs of the exact stages included)."""
    folder = tiny_model(family)
    texts = [*MIXED, *real_text[::200]]
    single = np.asarray(embed(open_session(ONNXPipeline(folder, ONNXPipelineConfig(validate=False)).build()), texts))
    batched = open_session(ONNXPipeline(folder, ONNXPipelineConfig(batch=True, validate=False)).build())
    rows = _run_batches(batched, texts, 64)
    np.testing.assert_allclose(rows, single, atol=2e-5)
    want = SentenceTransformer(str(folder), device="cpu").encode(texts, batch_size=64)
    # GPT2 reads "" as no token: sentence-transformers and the graph both give the zero vector
    assert all(float(got @ ref) >= MIN_COSINE or not (got.any() or ref.any()) for got, ref in zip(rows, want))


def test_rows_come_back_in_the_callers_order_for_any_batch_size(minilm_batched: Path, minilm_export) -> None:  # type: ignore[no-untyped-def]
    """Batch sizes around the chunk size, repeated strings, lengths ascending and descending."""
    texts = ["word " * n for n in (300, 1, 40, 0, 7, 120)] + ["a", "a", "the same text twice", "the same text twice"] * 3
    texts += sorted(SAMPLES[:20], key=len) + sorted(SAMPLES[20:], key=len, reverse=True)
    session = open_session(minilm_batched)
    single = np.asarray(embed(open_session(minilm_export[1]), texts))
    for size in (1, DEFAULT_CHUNK - 1, DEFAULT_CHUNK, DEFAULT_CHUNK + 1, 2 * DEFAULT_CHUNK + 3, len(texts)):
        np.testing.assert_allclose(_run_batches(session, texts, size), single, atol=2e-5, err_msg=f"batch size {size}")
    assert session.run(None, {"input": np.array([], dtype=object)})[0].shape == (0, 384)


def test_chunks_of_one_string_compute_each_row_as_the_single_string_graph(tiny_model, real_text) -> None:  # type: ignore[no-untyped-def]
    folder = tiny_model("bert-uncased")
    texts = [*MIXED, *real_text[::150]]
    single = np.asarray(embed(open_session(ONNXPipeline(folder, ONNXPipelineConfig(validate=False)).build()), texts))
    batched = open_session(ONNXPipeline(folder, ONNXPipelineConfig(batch=True, batch_chunk=1, validate=False)).build())
    np.testing.assert_allclose(_run_batches(batched, texts, 64), single, atol=1e-6)


def test_int8_batches_run_one_string_at_a_time_and_equal_the_int8_graph(minilm_dir: Path, converted: Convert) -> None:
    """Dynamic quantization scales what runs together: a chunk of one keeps each row its own.

    On the real model, because a body that ONNX Runtime fuses differently from the single-string
    graph (no SkipLayerNormalization without shapes) was measured 0.009 apart under INT8.
    """
    single = np.asarray(embed(open_session(converted(minilm_dir, quantize_model=True)[1]), MIXED))
    pipe = ONNXPipeline(minilm_dir, ONNXPipelineConfig(quantize_model=True, batch=True, validate=False))
    assert pipe.settings.batch_chunk == 1
    np.testing.assert_allclose(_run_batches(open_session(pipe.build()), MIXED, 64), single, atol=1e-6)


def test_fp16_batches_stay_within_float16_rounding_of_the_fp16_graph(minilm_dir: Path, converted: Convert) -> None:
    """Not identical: ONNX Runtime's highest level removes Cast nodes in the main graph, none inside a
    Loop body (measured 3.7e-4 apart even in chunks of one; 0.0 up to the extended level)."""
    single = np.asarray(embed(open_session(converted(minilm_dir, use_float16=True)[1]), MIXED))
    rows = _run_batches(open_session(ONNXPipeline(minilm_dir, ONNXPipelineConfig(use_float16=True, batch=True, validate=False)).build()), MIXED, 64)
    np.testing.assert_allclose(rows, single, atol=1e-3)
    cosines = (rows * single).sum(axis=1) / np.linalg.norm(rows, axis=1) / np.linalg.norm(single, axis=1)
    assert cosines.min() >= 0.99999


@pytest.mark.parametrize(
    ("properties", "message"),
    [
        ({"batch": True, "batch_chunk": 0}, "not a positive number"),
        ({"batch": True, "batch_chunk": True}, "not a positive number"),
        ({"batch_chunk": 8}, "batch is not"),
        ({"batch": True, "batch_chunk": 8, "quantize_model": True}, "INT8"),
    ],
)
def test_bad_batch_chunks_are_refused_in_one_line(tiny_model, properties: dict, message: str) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ConfigError, match=message) as caught:
        ONNXPipeline(tiny_model("bert-uncased"), ONNXPipelineConfig(validate=False, **properties))
    assert "\n" not in str(caught.value)


def test_the_oracle_export_stays_single_string(tiny_model) -> None:  # type: ignore[no-untyped-def]
    pipe = ONNXPipeline(tiny_model("bert-uncased"), ONNXPipelineConfig(batch=True, validate=False))
    with pytest.raises(ConfigError, match="single-string"):
        pipe.export2db("BATCHED")


def test_cli_batch_flag(tiny_model, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    out = tmp_path / "batched.onnx"
    result = CliRunner().invoke(main, ["convert", str(tiny_model("bert-uncased")), "-o", str(out), "--batch", "--batch-chunk", "2"])
    assert result.exit_code == 0, result.stderr
    rows = _run_batches(open_session(out), ["hello world", "", "a much longer line of text " * 10], 3)
    assert rows.shape == (3, 32) and np.allclose(np.linalg.norm(rows, axis=1), 1, atol=1e-5)
    bad = CliRunner().invoke(main, ["convert", str(tiny_model("bert-uncased")), "-o", str(tmp_path / "bad.onnx"), "--batch-chunk", "4"])
    assert bad.exit_code != 0 and "batch is not" in bad.output and not (tmp_path / "bad.onnx").exists()


_RUN_BATCHES = """
import sys
import numpy as np
import onnxruntime as ort
from onnxruntime_extensions import get_library_path

options = ort.SessionOptions()
options.register_custom_ops_library(get_library_path())
session = ort.InferenceSession(sys.argv[1], options, providers=["CPUExecutionProvider"])
texts = np.array(open(sys.argv[2], encoding="utf-8").read().split("\\x1e"), dtype=object)
first = session.run(None, {"input": texts[:16]})[0]
again = session.run(None, {"input": texts[:16]})[0]
rows = np.concatenate([session.run(None, {"input": texts[i : i + 16]})[0] for i in range(0, len(texts), 16)])
empty = session.run(None, {"input": texts[:0]})[0]
np.save(sys.argv[3], rows)
assert (first == again).all() and empty.shape == (0, rows.shape[1]), "second run or empty batch differs"
"""


@pytest.mark.compat
@pytest.mark.parametrize("spec", compat.RUNTIMES, ids=lambda spec: spec.name)
def test_batched_graph_runs_in_oracles_runtimes(minilm_batched: Path, minilm_export, spec: compat.RuntimeSpec, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """Client applications may pin an old ONNX Runtime too: every row there equals this runtime's single-string graph."""
    texts = ["x" * 3000, "", "a", *SAMPLES, "word " * 400]
    (tmp_path / "texts.txt").write_text("\x1e".join(texts), encoding="utf-8")
    (tmp_path / "run.py").write_text(_RUN_BATCHES, encoding="utf-8")
    python = compat.ensure_runtime(spec) / "bin" / "python"
    done = subprocess.run(
        [str(python), "-I", str(tmp_path / "run.py"), str(minilm_batched), str(tmp_path / "texts.txt"), str(tmp_path / "rows.npy")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    single = np.asarray(embed(open_session(minilm_export[1]), texts))
    np.testing.assert_allclose(np.load(tmp_path / "rows.npy"), single, atol=2e-5)


class _CountingSession:
    """A session that records how many strings each call gets (and can refuse batches of more than one)."""

    def __init__(self, session, refuse_batches: bool = False) -> None:  # type: ignore[no-untyped-def]
        self.session, self.refuse_batches, self.calls = session, refuse_batches, []

    def get_inputs(self):  # type: ignore[no-untyped-def]
        return self.session.get_inputs()

    def run(self, names, feeds):  # type: ignore[no-untyped-def]
        self.calls.append(len(feeds["input"]))
        if self.refuse_batches and len(feeds["input"]) > 1:
            raise RuntimeError("refused")
        return self.session.run(names, feeds)


@pytest.mark.parametrize("refuse_batches", [False, True])
def test_validation_checks_a_batched_graph_with_one_batch_of_every_sample(minilm_batched: Path, minilm_reference, refuse_batches: bool) -> None:  # type: ignore[no-untyped-def]
    session = _CountingSession(open_session(minilm_batched), refuse_batches)
    report = compare(session, reference_vectors(minilm_reference, MIXED), list(MIXED))
    assert report.ok and len(report.results) == len(MIXED)
    assert session.calls == ([len(MIXED)] + [1] * len(MIXED) if refuse_batches else [len(MIXED)])
