"""The batched reranker (``function="regression", batch=True``): one query [1] against passages [N] -> logits [N, 1].

Each row must be the single-pair graph's score for (query, passage i), whatever else is in the
batch and in whatever order it comes, and CrossEncoder.predict's too; with chunks of one string
each row is computed exactly as the single-pair graph computes it.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import onnx
import pytest
from click.testing import CliRunner
from embedpipe import ONNXPipeline, ONNXPipelineConfig, contract
from embedpipe.cli import main
from embedpipe.errors import ConfigError
from embedpipe.oprule import check_op_rule
from embedpipe.runtime import open_session, run_inputs
from embedpipe.scoring import QUERY

from tests.conftest import Convert
from tests.core.classifiers import build_classifier

# CrossEncoder's sigmoid, so the rows compare with CrossEncoder.predict's defaults.
RERANKER = {"max_seq_length": 64, "function": "regression", "activation": "model"}


@pytest.fixture(scope="module")
def reranker_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_classifier(tmp_path_factory.mktemp("batch_reranker"), "bert-uncased", {0: "LABEL_0"})


@pytest.fixture(scope="module")
def single(reranker_dir: Path):  # type: ignore[no-untyped-def]
    """A session on the single-pair graph: the reference every row is held to (tests/core/test_rerank.py validates it)."""
    return open_session(ONNXPipeline(reranker_dir, ONNXPipelineConfig(**RERANKER, validate=False)).build())


@pytest.fixture(scope="module")
def batched(reranker_dir: Path, converted: Convert) -> tuple[ONNXPipeline, Path]:
    """The batched graph, validated on export (pair by pair, as a batch of one passage) like any reranker."""
    return converted(reranker_dir, **RERANKER, batch=True)


@pytest.fixture(scope="module")
def passages(real_text: list[str]) -> list[str]:
    """Thirty passages: real lines, "", whitespace, and documents far past truncation."""
    return ["", " \t\n", *real_text[::150], max(real_text, key=len), "word " * 600]


def _scores(session, query: str, passages: list[str]) -> np.ndarray:  # type: ignore[no-untyped-def]
    feeds = {contract.FIRST_TEXT: np.array([query], dtype=object), contract.SECOND_TEXT: np.array(passages, dtype=object)}
    return session.run(None, feeds)[0]


def _one_by_one(session, query: str, passages: list[str]) -> np.ndarray:  # type: ignore[no-untyped-def]
    return np.array([run_inputs(session, (query, passage)) for passage in passages]).reshape(-1, 1)


def test_the_graph_takes_one_query_and_n_passages(batched: tuple[ONNXPipeline, Path]) -> None:
    pipe, path = batched
    model = onnx.load(str(path))
    shapes = {value.name: [d.dim_param or d.dim_value for d in value.type.tensor_type.shape.dim] for value in (*model.graph.input, *model.graph.output)}
    assert shapes == {contract.FIRST_TEXT: [1], contract.SECOND_TEXT: ["batch"], contract.LOGITS: ["batch", 1]}
    assert check_op_rule(model) == []
    settings = json.loads({p.key: p.value for p in model.metadata_props}[contract.SETTINGS_KEY])
    assert settings["batch"] is True and settings["function"] == contract.REGRESSION
    assert pipe.report.ok and pipe.report.ranking_ok


def test_rows_equal_the_single_pair_graph_and_crossencoder(batched, single, reranker_dir: Path, passages: list[str]) -> None:  # type: ignore[no-untyped-def]
    from sentence_transformers import CrossEncoder

    session = open_session(batched[1])
    want = _one_by_one(single, QUERY, passages)
    rows = _scores(session, QUERY, passages)
    assert rows.shape == (len(passages), 1)
    np.testing.assert_allclose(rows, want, atol=1e-5, rtol=0)
    # The caller's order comes back, whatever order the graph runs the passages in.
    np.testing.assert_allclose(_scores(session, QUERY, passages[::-1]), want[::-1], atol=1e-5, rtol=0)
    reference = CrossEncoder(str(reranker_dir), device="cpu", max_length=64).predict([[QUERY, p] for p in passages], convert_to_numpy=True)
    np.testing.assert_allclose(rows[:, 0], reference, atol=1e-4, rtol=0)
    # A long query shares the 64 tokens with each passage (longest-first truncation), as in the single graph.
    np.testing.assert_allclose(_scores(session, passages[-2], passages[:6]), _one_by_one(single, passages[-2], passages[:6]), atol=1e-5, rtol=0)


def test_no_passage_and_one_passage(batched, single, passages: list[str]) -> None:  # type: ignore[no-untyped-def]
    session = open_session(batched[1])
    assert _scores(session, QUERY, []).shape == (0, 1)
    for passage in passages[:3]:
        np.testing.assert_allclose(_scores(session, QUERY, [passage]), _one_by_one(single, QUERY, [passage]), atol=1e-5, rtol=0)


def test_chunks_of_one_passage_equal_the_single_pair_graph_exactly(reranker_dir: Path, single, passages: list[str]) -> None:  # type: ignore[no-untyped-def]
    pipe = ONNXPipeline(reranker_dir, ONNXPipelineConfig(**RERANKER, batch=True, batch_chunk=1, validate=False))
    rows = _scores(open_session(pipe.build()), QUERY, passages)
    np.testing.assert_array_equal(rows, _one_by_one(single, QUERY, passages))


def test_cli_batch_convert_and_score(reranker_dir: Path, single, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    out = tmp_path / "batched.onnx"
    args = ["convert", str(reranker_dir), "--function", "regression", "--activation", "model", "--max-seq-length", "64", "--batch", "--no-validate"]
    converted = CliRunner().invoke(main, [*args, "-o", str(out)])
    assert converted.exit_code == 0, converted.output
    passages = ["A vector is a list of numbers.", "", "unrelated text"]
    result = CliRunner().invoke(main, ["score", str(out), QUERY, *passages, "--json"])
    assert result.exit_code == 0, result.output
    np.testing.assert_allclose([[row["score"]] for row in json.loads(result.stdout)], _one_by_one(single, QUERY, passages), atol=1e-5, rtol=0)


def test_int8_runs_one_passage_at_a_time_and_equals_the_int8_graph(reranker_dir: Path, passages: list[str]) -> None:
    """Dynamic quantization scales what runs together: a chunk of one keeps each row its own."""
    int8 = {**RERANKER, "quantize_model": True, "validate": False}
    single = open_session(ONNXPipeline(reranker_dir, ONNXPipelineConfig(**int8)).build())
    pipe = ONNXPipeline(reranker_dir, ONNXPipelineConfig(**int8, batch=True))
    assert pipe.settings.batch_chunk == 1
    np.testing.assert_array_equal(_scores(open_session(pipe.build()), QUERY, passages), _one_by_one(single, QUERY, passages))


def test_oracle_stays_single_pair(reranker_dir: Path) -> None:
    """(A classifier's batch stays refused: tests/core/test_classify.py.)"""
    with pytest.raises(ConfigError, match="single-string"):
        ONNXPipeline(reranker_dir, ONNXPipelineConfig(**RERANKER, batch=True, validate=False)).export2db("BATCHED")
