"""Text classifiers (CLASSIFICATION): a text (or a pair) in, class probabilities out, held to the
transformers model's softmax; the labels from id2label travel in the graph's settings metadata."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import onnx
import pytest
from click.testing import CliRunner
from embedpipe import MiningFunction, ONNXPipeline, ONNXPipelineConfig, contract
from embedpipe.cli import main
from embedpipe.runtime import open_session, run_inputs
from embedpipe.samples import SAMPLES

from tests.core.classifiers import build_classifier

LABELS = {0: "negative", 1: "neutral", 2: "positive"}
TEXTS = ["hello world", "", " ", "naïve café résumé", "北京欢迎你", SAMPLES[-2]]


@pytest.fixture(scope="session")
def classifier_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_classifier(tmp_path_factory.mktemp("classifier"), "bert-uncased", LABELS)


@pytest.fixture(scope="session")
def classifier(classifier_dir: Path, converted):  # type: ignore[no-untyped-def]
    """The three-class classifier converted with the defaults (auto-detected, softmax, validated on export)."""
    return converted(classifier_dir, max_seq_length=64)


def _softmax(folder: Path, inputs: list[tuple[str, ...]]) -> np.ndarray:
    import torch
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(str(folder))
    model = AutoModelForSequenceClassification.from_pretrained(str(folder)).eval()
    with torch.no_grad():
        return np.stack(
            [torch.softmax(model(**tokenizer(*([x] for x in t), truncation=True, max_length=64, return_tensors="pt")).logits, -1)[0].numpy() for t in inputs]
        )


def test_graph_gives_probabilities_and_records_the_labels(classifier) -> None:  # type: ignore[no-untyped-def]
    pipe, path = classifier
    model = onnx.load(str(path))
    assert [i.name for i in model.graph.input] == [contract.TEXT]
    (output,) = model.graph.output
    assert output.name == contract.PROBABILITIES
    assert [d.dim_value for d in output.type.tensor_type.shape.dim] == [1, 3]
    settings = json.loads({p.key: p.value for p in model.metadata_props}[contract.SETTINGS_KEY])
    assert settings["function"] == contract.CLASSIFICATION and settings["activation"] == contract.SOFTMAX
    assert settings["labels"] == list(LABELS.values())
    assert pipe.report.ok and pipe.report.max_difference <= 1e-4


def test_probabilities_match_transformers_softmax(classifier, classifier_dir: Path) -> None:  # type: ignore[no-untyped-def]
    _, path = classifier
    session = open_session(path)
    got = np.stack([run_inputs(session, (t,)) for t in TEXTS])
    np.testing.assert_allclose(got, _softmax(classifier_dir, [(t,) for t in TEXTS]), atol=1e-4)
    np.testing.assert_allclose(got.sum(axis=1), 1.0, atol=1e-5)


def test_a_pair_classifier_with_own_label_names(classifier_dir: Path) -> None:
    names = ["contradiction", "neutral", "entailment"]
    config = ONNXPipelineConfig(function=MiningFunction.CLASSIFICATION.name, pair=True, labels=names, max_seq_length=64, validate=False)
    pipe = ONNXPipeline(classifier_dir, config)
    assert pipe.settings.head.labels == tuple(names) and pipe.settings_properties()["labels"] == names
    report = pipe.validate(TEXTS[:4])  # every text paired with every other
    assert report.ok and report.max_difference <= 1e-4, report.summary()
    assert [i.name for i in pipe.build().graph.input] == list(contract.PAIR_TEXTS)


def test_score_command_prints_label_and_probability(classifier, classifier_dir: Path) -> None:  # type: ignore[no-untyped-def]
    _, path = classifier
    result = CliRunner().invoke(main, ["score", str(path), "hello world", "--json"])
    assert result.exit_code == 0, result.output
    (row,) = json.loads(result.stdout)
    want = _softmax(classifier_dir, [("hello world",)])[0]
    assert row["label"] == LABELS[int(np.argmax(want))] and abs(row["probability"] - want.max()) <= 1e-4
    text = CliRunner().invoke(main, ["score", str(path), "hello world"])
    assert text.exit_code == 0 and "label=" in text.stdout and "probability=" in text.stdout


def test_a_pair_given_to_a_single_input_graph_is_refused(classifier) -> None:  # type: ignore[no-untyped-def]
    _, path = classifier
    result = CliRunner().invoke(main, ["score", str(path), "first", "second"])
    assert result.exit_code == 2 and "--pair" in result.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--label", "a", "--label", "b"], "labels names 2 classes"),
        (["--function", "regression"], "3 labels"),
        (["--function", "classification", "--batch"], "batch is not supported for classification graphs"),
    ],
)
def test_bad_classifier_options_exit_2_without_a_file(args: list[str], message: str, classifier_dir: Path, tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["convert", str(classifier_dir), *args, "-o", str(tmp_path / "x.onnx")])
    assert result.exit_code == 2 and message in result.stderr, result.output
    assert not (tmp_path / "x.onnx").exists()
