"""Rerankers (REGRESSION): a pair in, one logit out, held to sentence-transformers' CrossEncoder.predict.

Tiny random-weight cross-encoders of the three exact tokenizer families, each converted once per
session; the references come from sentence-transformers and transformers, never from the graph.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import onnx
import pytest
from click.testing import CliRunner
from embedpipe import MiningFunction, ONNXPipeline, ONNXPipelineConfig, contract
from embedpipe.cli import main
from embedpipe.config import resolve
from embedpipe.errors import ConfigError
from embedpipe.runtime import open_session, run_inputs
from embedpipe.samples import SAMPLES
from embedpipe.source import load_source

from tests.core.classifiers import build_classifier

PAIRS = [("what is a vector?", "A vector is a list of numbers."), ("", "naïve café"), ("日本語", " "), (SAMPLES[-1], SAMPLES[-2])]


@pytest.fixture(scope="session")
def reranker_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_classifier(tmp_path_factory.mktemp("reranker"), "bert-uncased", {0: "LABEL_0"})


@pytest.fixture(scope="session")
def reranker(reranker_dir: Path, converted):  # type: ignore[no-untyped-def]
    """The WordPiece reranker with CrossEncoder's own activation (sigmoid), validated on the hard pairs on export."""
    return converted(reranker_dir, max_seq_length=64, function=MiningFunction.REGRESSION.name, activation="model")


def _predict(folder: Path, pairs: list[tuple[str, str]]) -> np.ndarray:
    """CrossEncoder.predict with its default activation (sigmoid for one label)."""
    from sentence_transformers import CrossEncoder

    return CrossEncoder(str(folder), device="cpu", max_length=64).predict([list(p) for p in pairs], convert_to_numpy=True)


def test_graph_takes_a_pair_and_gives_one_logit(reranker) -> None:  # type: ignore[no-untyped-def]
    pipe, path = reranker
    model = onnx.load(str(path))
    assert [i.name for i in model.graph.input] == list(contract.PAIR_TEXTS)
    (output,) = model.graph.output
    assert output.name == contract.LOGITS
    assert [d.dim_value for d in output.type.tensor_type.shape.dim] == [1, 1]
    settings = json.loads({p.key: p.value for p in model.metadata_props}[contract.SETTINGS_KEY])
    assert settings["function"] == contract.REGRESSION and settings["activation"] == contract.SIGMOID
    assert pipe.report.ok and pipe.report.ranking_ok and pipe.report.max_difference <= 1e-4
    assert all("\x00" in "".join(line.inputs) for line in pipe.report.forgiven)  # the oracle profile's declared NUL limitation


def test_scores_match_crossencoder_predict(reranker, reranker_dir: Path) -> None:  # type: ignore[no-untyped-def]
    _, path = reranker
    session = open_session(path)
    got = np.array([run_inputs(session, pair)[0] for pair in PAIRS])
    np.testing.assert_allclose(got, _predict(reranker_dir, PAIRS), atol=1e-4)


def test_the_default_is_the_raw_logit(reranker_dir: Path) -> None:
    settings = resolve(ONNXPipelineConfig(), load_source(reranker_dir))
    assert settings.function == contract.REGRESSION and settings.head.activation == contract.IDENTITY and settings.head.pair


def test_a_saved_crossencoder_activation_is_honoured(reranker_dir: Path, tmp_path: Path) -> None:
    import torch
    from sentence_transformers import CrossEncoder

    CrossEncoder(str(reranker_dir), device="cpu", activation_fn=torch.nn.Identity()).save(str(tmp_path / "ce"))
    pipe = ONNXPipeline(tmp_path / "ce", ONNXPipelineConfig(activation="model", max_seq_length=64, validate=False))
    assert pipe.settings.function == contract.REGRESSION and pipe.settings.head.activation == contract.IDENTITY
    report = pipe.validate(["hello world", "", "naïve café"])  # the saved folder (modules.json and all) converts too
    assert report.ok and report.max_difference <= 1e-4, report.summary()


@pytest.mark.parametrize("family", ["roberta", "xlmr"])
def test_bpe_and_unigram_raw_logits_match_crossencoder(family: str, tmp_path: Path) -> None:
    """Every text paired with every other (both orders, itself, "" and long text): the raw logit as
    CrossEncoder.predict(activation_fn=Identity) gives it."""
    folder = build_classifier(tmp_path, family, {0: "LABEL_0"})
    pipe = ONNXPipeline(folder, ONNXPipelineConfig(max_seq_length=64, validate=False))
    report = pipe.validate(["hello world", "", " ", "naïve café résumé", "emoji 😀🎉", SAMPLES[-2]])
    assert pipe.settings.head.activation == contract.IDENTITY
    assert report.ok and report.max_difference <= 1e-4, report.summary()


def test_score_command_prints_one_score_per_passage(reranker, reranker_dir: Path) -> None:  # type: ignore[no-untyped-def]
    _, path = reranker
    result = CliRunner().invoke(main, ["score", str(path), PAIRS[0][0], PAIRS[0][1], "unrelated text", "--json"])
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)
    want = _predict(reranker_dir, [(PAIRS[0][0], PAIRS[0][1]), (PAIRS[0][0], "unrelated text")])
    np.testing.assert_allclose([r["score"] for r in rows], want, atol=1e-4)


def test_inspect_and_validate_read_a_reranker(reranker, reranker_dir: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    _, path = reranker
    inspected = CliRunner().invoke(main, ["inspect", str(path), "--json"])
    assert inspected.exit_code == 0 and json.loads(inspected.stdout)["outputs"][0]["name"] == contract.LOGITS
    corpus = tmp_path / "corpus.txt"
    corpus.write_text("hello world\n\nnaïve café\n", encoding="utf-8")
    validated = CliRunner().invoke(main, ["validate", str(path), "--reference", str(reranker_dir), "--corpus", str(corpus), "--json"])
    assert validated.exit_code == 0, validated.output
    assert json.loads(validated.stdout)["ranking_ok"] is True


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--function", "regression"], "no sequence-classification head"),
        (["--function", "classification"], "no sequence-classification head"),
    ],
)
def test_an_embedding_model_is_refused_as_a_head(args: list[str], message: str, tiny_model, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    result = CliRunner().invoke(main, ["convert", str(tiny_model("bert-uncased")), *args, "-o", str(tmp_path / "x.onnx")])
    assert result.exit_code == 2 and message in result.stderr
    assert not (tmp_path / "x.onnx").exists()


def test_a_reranker_refuses_classification_and_embedding_only_features(reranker_dir: Path, tmp_path: Path) -> None:
    as_classifier = CliRunner().invoke(main, ["convert", str(reranker_dir), "--function", "classification", "-o", str(tmp_path / "x.onnx")])
    assert as_classifier.exit_code == 2 and "use function regression" in as_classifier.stderr
    source = load_source(reranker_dir)
    for bad in ({"pooling": "cls"}, {"labels": ["a"]}, {"function": "ranking"}):  # batch: tests/core/test_batch_rerank.py
        with pytest.raises(ConfigError):
            resolve(ONNXPipelineConfig(**bad), source)
    with pytest.raises(ConfigError, match="not supported for regression graphs"):  # an embedding model's preset (pooling, normalize)
        resolve(ONNXPipelineConfig("sentence-transformers/all-MiniLM-L6-v2"), source)
    assert not (tmp_path / "x.onnx").exists()
