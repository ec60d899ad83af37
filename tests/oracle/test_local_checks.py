"""Everything the sink refuses before it connects: names, graphs Oracle would refuse, bad options."""

from __future__ import annotations

import json
from pathlib import Path

import onnx
import pytest
from embedpipe import contract
from embedpipe.errors import ConfigError, EmbedpipeError
from embedpipe_oracle.load import load_file
from embedpipe_oracle.names import check_directory_name, check_model_name, staging_name
from hypothesis import given
from hypothesis import strategies as st

from tests.oracle.double import DoubleConnection, OracleDouble
from tests.oracle.graphs import encoder_graph, string_graph

ORACLE_NAME = r"[A-Za-z][A-Za-z0-9_$#]{0,122}"


@given(st.from_regex(ORACLE_NAME, fullmatch=True))
def test_every_valid_name_is_accepted_upper_cased(name: str) -> None:
    assert check_model_name(name) == name.upper()


@pytest.mark.parametrize(
    "name", ["", "1model", "_model", "my-model", "my model", "schema.model", "A" * 124, "modèle", "x'; DROP"]
)
def test_invalid_names_are_one_line_with_the_rule(name: str) -> None:
    with pytest.raises(ConfigError) as caught:
        check_model_name(name)
    assert "\n" not in str(caught.value) and "start with a letter" in str(caught.value) and "123" in str(caught.value)


def test_staging_names_are_valid_and_fresh() -> None:
    names = {staging_name() for _ in range(50)}
    assert len(names) == 50 and all(check_model_name(n) == n for n in names)


def test_directory_names_are_identifiers() -> None:
    assert check_directory_name("dm_dump") == "DM_DUMP"
    with pytest.raises(ConfigError, match="not a path"):
        check_directory_name("/opt/oracle/models")


def _marked_batched(path: Path) -> Path:
    """The graph with the settings a batched export records (string [N] in)."""
    model = onnx.load(str(path))
    onnx.helper.set_model_props(model, {contract.SETTINGS_KEY: json.dumps({"batch": True, "batch_chunk": 16})})
    onnx.save(model, str(path))
    return path


@pytest.mark.parametrize(
    ("make", "problem"),
    [
        (lambda folder: encoder_graph(folder), "one 1-D string input"),
        (lambda folder: string_graph(folder, input_shape=[1, 1]), "one 1-D string input"),
        (lambda folder: string_graph(folder, dimension=70000), "1 to 65535"),
        (lambda folder: _marked_batched(string_graph(folder, input_shape=["batch"])), "batched client-side graph"),
    ],
)
def test_graphs_oracle_refuses_are_refused_before_connecting(
    oracle_double: OracleDouble,
    oracle_connection: DoubleConnection,
    tmp_path: Path,
    make,
    problem: str,  # type: ignore[no-untyped-def]
) -> None:
    with pytest.raises(EmbedpipeError, match=problem) as caught:
        load_file(make(tmp_path), "M", connection=oracle_connection)
    assert "\n" not in str(caught.value) and oracle_double.calls == []


def test_bad_name_is_refused_before_reading_the_file(
    oracle_double: OracleDouble, oracle_connection: DoubleConnection, tmp_path: Path
) -> None:
    with pytest.raises(ConfigError, match="not a valid Oracle identifier"):
        load_file(tmp_path / "does-not-exist.onnx", "1bad", connection=oracle_connection)
    assert oracle_double.calls == []


@pytest.mark.parametrize("path", ["model.zip", "model.txt", "missing.onnx"])
def test_not_an_onnx_file(oracle_connection: DoubleConnection, tmp_path: Path, path: str) -> None:
    target = tmp_path / path
    if path != "missing.onnx":
        target.write_bytes(b"PK")
    with pytest.raises(ConfigError, match="unzip" if path.endswith(".zip") else "not an .onnx file"):
        load_file(target, "M", connection=oracle_connection)


def test_unknown_distance_metric(oracle_connection: DoubleConnection, tmp_path: Path) -> None:
    with pytest.raises(EmbedpipeError, match="unknown distance metric.*COSINE"):
        load_file(string_graph(tmp_path), "M", connection=oracle_connection, distance_metrics=["cosinus"])
