"""Rerankers (REGRESSION) and classifiers (CLASSIFICATION) in Oracle: their metadata as Oracle
documents it, loading and verifying through the double (PREDICTION, PREDICTION_PROBABILITY), the
`embedpipe sql` script, and the refusals.

A tiny WordPiece reranker and a tiny three-class classifier are converted once per session; the
references are the local graph's outputs under ONNX Runtime (core's tests hold the graphs to
CrossEncoder and transformers).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import onnx
import oracledb
import pytest
from click.testing import CliRunner
from embedpipe import contract
from embedpipe.cli import main
from embedpipe.runtime import open_session, run_inputs
from embedpipe_oracle.database import Database
from embedpipe_oracle.errors import OracleSinkError, VerificationError
from embedpipe_oracle.load import load_file, open_graph
from embedpipe_oracle.metadata import build_metadata, graph_facts
from embedpipe_oracle.sink import OracleSink
from embedpipe_oracle.verify import PAIRS, SAMPLES

from tests.core.classifiers import build_classifier
from tests.oracle.double import DoubleConnection, OracleDouble

LABELS = {0: "negative", 1: "neutral", 2: "positive"}


@pytest.fixture(scope="session")
def reranker_file(tmp_path_factory: pytest.TempPathFactory, converted) -> Path:  # type: ignore[no-untyped-def]
    folder = build_classifier(tmp_path_factory.mktemp("oracle-reranker"), "bert-uncased", {0: "LABEL_0"})
    return converted(folder, function="regression", max_seq_length=64, validate=False)[1]


@pytest.fixture(scope="session")
def classifier_file(tmp_path_factory: pytest.TempPathFactory, converted) -> Path:  # type: ignore[no-untyped-def]
    folder = build_classifier(tmp_path_factory.mktemp("oracle-classifier"), "bert-uncased", LABELS, seed=1)
    return converted(folder, function="classification", max_seq_length=64, validate=False)[1]


@pytest.fixture(scope="session")
def pair_classifier_file(tmp_path_factory: pytest.TempPathFactory, converted) -> Path:  # type: ignore[no-untyped-def]
    folder = build_classifier(tmp_path_factory.mktemp("oracle-pair-classifier"), "bert-uncased", LABELS, seed=2)
    return converted(folder, function="classification", pair=True, max_seq_length=64, validate=False)[1]


def _metadata(path: Path) -> dict:
    return build_metadata(graph_facts(open_graph(path)))


def _edited(path: Path, folder: Path, *, settings: dict | None = None, output: str | None = None) -> Path:
    """A copy of the graph with some recorded settings changed, or its output renamed."""
    model = onnx.load(str(path))
    props = {p.key: p.value for p in model.metadata_props}
    props[contract.SETTINGS_KEY] = json.dumps({**json.loads(props[contract.SETTINGS_KEY]), **(settings or {})})
    onnx.helper.set_model_props(model, props)
    if output is not None:
        old = model.graph.output[0].name
        for node in model.graph.node:
            node.output[:] = [output if name == old else name for name in node.output]
        model.graph.output[0].name = output
    target = folder / "edited.onnx"
    onnx.save_model(model, str(target))
    return target


def test_reranker_metadata_is_oracles_documented_json(reranker_file: Path) -> None:
    assert json.dumps(_metadata(reranker_file)) == (
        '{"function": "regression", "regressionOutput": "logits", '
        '"input": {"first_input": ["DATA1"], "second_input": ["DATA2"]}}'
    )


def test_classifier_metadata_names_probabilities_and_labels(classifier_file: Path) -> None:
    assert _metadata(classifier_file) == {
        "function": "classification",
        "classificationProbOutput": "probabilities",
        "labels": ["negative", "neutral", "positive"],
        "input": {"input": ["DATA"]},
    }


def test_reranker_loads_verifies_and_answers_prediction(reranker_file: Path, oracle_double: OracleDouble) -> None:
    connection = oracle_double.connect()
    result = load_file(reranker_file, "rerank", connection=connection)
    assert result.function == "regression" and result.max_difference <= 1e-4 and result.min_cosine is None
    assert result.query == "SELECT PREDICTION(RERANK USING 'what is panda?' AS DATA1, 'hi' AS DATA2) AS score FROM dual"
    database = Database(connection)
    assert database.model("RERANK") == ("REGRESSION", "ONNX")
    session = open_session(reranker_file)
    for query, passage in [*PAIRS, ("naïve", "東京")]:
        got = database.predict("RERANK", {"DATA1": query, "DATA2": passage})
        assert abs(got - float(run_inputs(session, (query, passage))[0])) <= 1e-5
    with pytest.raises(oracledb.DatabaseError, match="ORA-40290"):  # a reranker has no class probabilities
        database.predict("RERANK", {"DATA1": "a", "DATA2": "b"}, probability=True)


def test_classifier_loads_verifies_and_answers_label_and_probability(
    classifier_file: Path, oracle_connection: DoubleConnection
) -> None:
    result = load_file(classifier_file, "sentiment", connection=oracle_connection)
    assert result.function == "classification" and result.dimension == 3 and result.max_difference <= 1e-4
    assert "PREDICTION_PROBABILITY(SENTIMENT USING 'hello world' AS DATA)" in result.query
    database = Database(oracle_connection)
    assert database.model("SENTIMENT") == ("CLASSIFICATION", "ONNX")
    session = open_session(classifier_file)
    for text in SAMPLES:
        probabilities = run_inputs(session, (text,))
        assert database.predict("SENTIMENT", {"DATA": text}) == LABELS[int(np.argmax(probabilities))]
        assert abs(database.predict("SENTIMENT", {"DATA": text}, probability=True) - float(probabilities.max())) <= 1e-6


def test_a_pair_classifier_takes_data1_and_data2(pair_classifier_file: Path, oracle_connection: DoubleConnection) -> None:
    result = load_file(pair_classifier_file, "nli", connection=oracle_connection)
    assert result.metadata["input"] == {"first_input": ["DATA1"], "second_input": ["DATA2"]}
    assert result.function == "classification" and result.max_difference <= 1e-4
    session = open_session(pair_classifier_file)
    probabilities = run_inputs(session, PAIRS[1])
    got = Database(oracle_connection).predict("NLI", dict(zip(("DATA1", "DATA2"), PAIRS[1])))
    assert got == LABELS[int(np.argmax(probabilities))]
    script = CliRunner().invoke(main, ["sql", str(pair_classifier_file), "--name", "nli"]).stdout
    assert f"PREDICTION_PROBABILITY(NLI USING '{PAIRS[0][0]}' AS DATA1, '{PAIRS[0][1]}' AS DATA2)" in script
    assert "PREDICTION(NLI USING text1 AS DATA1, text2 AS DATA2) AS label" in script


def test_load_command_reports_a_reranker(
    reranker_file: Path, oracle_double: OracleDouble, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(oracledb, "connect", lambda **kwargs: oracle_double.connect(**kwargs))
    for variable, value in {"DSN": "localhost:1521/FREEPDB1", "USER": "scott", "PASSWORD": "secret"}.items():
        monkeypatch.setenv(f"EMBEDPIPE_ORACLE_{variable}", value)
    result = CliRunner().invoke(main, ["load", str(reranker_file), "--name", "rerank"])
    assert result.exit_code == 0, result.output
    assert "loaded RERANK: REGRESSION model, verified in the database (max difference" in result.stdout
    assert "try: SELECT PREDICTION(RERANK USING 'what is panda?' AS DATA1, 'hi' AS DATA2) AS score FROM dual" in result.stdout


def test_replacing_a_reranker_keeps_the_old_one_until_the_new_one_verifies(
    reranker_file: Path, oracle_double: OracleDouble, oracle_connection: DoubleConnection
) -> None:
    load_file(reranker_file, "rerank", connection=oracle_connection)
    oracle_double.score_tamper = lambda row: row + 0.01
    with pytest.raises(VerificationError, match=r"PREDICTION\(EMBEDPIPE_STAGE_\w+\) gives"):
        load_file(reranker_file, "rerank", connection=oracle_connection, replace=True)
    assert list(oracle_double.models) == ["RERANK"]
    oracle_double.score_tamper = None
    assert load_file(reranker_file, "rerank", connection=oracle_connection, replace=True).replaced


def test_the_sink_loads_a_classifier(classifier_file: Path, oracle_double: OracleDouble) -> None:
    OracleSink().write(onnx.load(str(classifier_file)), "labeler", Path("."), connection=oracle_double.connect())
    assert oracle_double.models["LABELER"].metadata["labels"] == list(LABELS.values())


def test_sql_script_for_a_reranker_checks_scores_and_shows_two_stage_search(reranker_file: Path) -> None:
    result = CliRunner().invoke(main, ["sql", str(reranker_file), "--name", "rerank"])
    assert result.exit_code == 0, result.output
    script = result.stdout
    assert f"metadata => JSON('{json.dumps(_metadata(reranker_file))}')" in script
    session = open_session(reranker_file)
    for query, passage in PAIRS:
        want = f"{float(run_inputs(session, (query, passage))[0]):.9g}"
        assert f"SELECT PREDICTION(RERANK USING '{query}' AS DATA1, '{passage}' AS DATA2) INTO score FROM dual;" in script
        assert f"IF score IS NULL OR ABS(score - ({want})) > 0.0001 * GREATEST(1, ABS({want})) THEN" in script
    assert "VECTOR_EMBEDDING(EMBED_MODEL USING :query AS DATA), COSINE)" in script
    assert "PREDICTION(RERANK USING :query AS DATA1, text AS DATA2) AS score" in script
    assert "VECTOR_DISTANCE(\n" not in script  # no embedding check for a reranker


def test_sql_script_for_a_classifier_checks_labels_and_probabilities(classifier_file: Path) -> None:
    result = CliRunner().invoke(main, ["sql", str(classifier_file), "--name", "sentiment"])
    assert result.exit_code == 0, result.output
    session = open_session(classifier_file)
    for text in SAMPLES:
        probabilities = run_inputs(session, (text,))
        using = f"'{text}' AS DATA"
        assert f"SELECT PREDICTION(SENTIMENT USING {using}), PREDICTION_PROBABILITY(SENTIMENT USING {using})" in result.stdout
        label, want = LABELS[int(np.argmax(probabilities))], f"{float(probabilities.max()):.9g}"
        assert f"label <> '{label}'\n     OR probability IS NULL OR ABS(probability - {want}) > 0.0001 THEN" in result.stdout
    assert "labels negative, neutral, positive" in result.stdout


def test_labels_that_do_not_match_the_output_are_one_line_naming_the_fix(classifier_file: Path, tmp_path: Path) -> None:
    edited = _edited(classifier_file, tmp_path, settings={"labels": ["bad", "good"]})
    with pytest.raises(OracleSinkError) as caught:
        _metadata(edited)
    assert "2 labels but its 'probabilities' output has 3 columns" in str(caught.value)
    assert "reconvert with 3 labels in label-id order" in caught.value.fix and "\n" not in str(caught.value)


def test_a_classifier_without_probabilities_is_refused(classifier_file: Path, tmp_path: Path) -> None:
    edited = _edited(classifier_file, tmp_path, settings={"activation": "identity"}, output="logits")
    with pytest.raises(OracleSinkError, match="no float32 'probabilities' output") as caught:
        _metadata(edited)
    assert "activation softmax" in caught.value.fix


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"function": "regression"}, "Oracle needs first_input and second_input"),
        ({"function": "ranking"}, "function 'ranking', which Oracle does not load"),
    ],
)
def test_a_graph_whose_recorded_function_does_not_fit_is_refused(
    settings: dict, message: str, classifier_file: Path, tmp_path: Path
) -> None:
    with pytest.raises(OracleSinkError, match=message):
        _metadata(_edited(classifier_file, tmp_path, settings=settings))


def test_embedding_only_options_are_refused_for_a_reranker(reranker_file: Path) -> None:
    with pytest.raises(OracleSinkError, match="describe embedding models"):
        build_metadata(graph_facts(open_graph(reranker_file)), distance_metrics=["DOT"])


@pytest.mark.parametrize(
    ("change", "code"),
    [
        ({"function": "embedding", "embeddingOutput": "logits"}, "ORA-20000"),  # and the reranker's own key
        ({"regressionOutput": None}, "ORA-20000"),  # required for a reranker
        ({"input": {"first_input": ["DATA1"]}}, "ORA-20000"),  # a reranker takes the pair
        ({"input": {"first_input": ["DATA1"], "query": ["DATA2"]}}, "ORA-54408"),
        ({"pooling": "mean"}, "ORA-20000"),  # an embedding's key
    ],
)
def test_the_double_refuses_reranker_metadata_as_oracle(
    change: dict, code: str, reranker_file: Path, oracle_double: OracleDouble, oracle_connection: DoubleConnection
) -> None:
    metadata = {k: v for k, v in {**_metadata(reranker_file), **change}.items() if v is not None}
    with pytest.raises(oracledb.DatabaseError, match=code):
        Database(oracle_connection).load_blob("M", reranker_file, metadata)
    assert not oracle_double.models


def test_the_double_refuses_labels_of_the_wrong_count(classifier_file: Path, oracle_connection: DoubleConnection) -> None:
    metadata = {**_metadata(classifier_file), "labels": ["a", "b"]}
    with pytest.raises(oracledb.DatabaseError, match='"labels" field names 2 classes; the output "probabilities" has 3'):
        Database(oracle_connection).load_blob("M", classifier_file, metadata)


def test_sql_functions_answer_only_their_mining_function(
    classifier_file: Path, oracle_tiny_file: Path, oracle_connection: DoubleConnection
) -> None:
    load_file(oracle_tiny_file, "embedder", connection=oracle_connection)
    load_file(classifier_file, "sentiment", connection=oracle_connection)
    database = Database(oracle_connection)
    with pytest.raises(oracledb.DatabaseError, match="ORA-40290"):
        database.predict("EMBEDDER", {"DATA": "hello"})
    with pytest.raises(oracledb.DatabaseError, match="ORA-40290"):
        database.embed("SENTIMENT", "hello")
    with pytest.raises(oracledb.DatabaseError, match="ORA-00904"):
        database.predict("SENTIMENT", {"DATA1": "hello", "DATA2": "world"})
