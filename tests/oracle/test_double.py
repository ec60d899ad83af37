"""The double is strict: it refuses what Oracle documents refusing, so a sink bug cannot pass.

Each test sends the double a call straight through its oracledb-compatible connection, bypassing
the sink's own local checks, and expects Oracle's error.
"""

from __future__ import annotations

import json
from pathlib import Path

import oracledb
import pytest

from tests.oracle.double import BindPolicyError, DoubleConnection, OracleDouble
from tests.oracle.graphs import encoder_graph, string_graph

LOAD = "BEGIN DBMS_VECTOR.LOAD_ONNX_MODEL(model_name => :n, model_data => :d, metadata => JSON(:m)); END;"
METADATA = {"function": "embedding", "embeddingOutput": "embedding", "input": {"input": ["DATA"]}}


def _blob(connection: DoubleConnection, path: Path):  # type: ignore[no-untyped-def]
    lob = connection.createlob(oracledb.DB_TYPE_BLOB)
    lob.write(path.read_bytes(), 1)
    return lob


def _load(connection: DoubleConnection, path: Path, name: str = "M", metadata: dict | None = None) -> None:
    with connection.cursor() as cursor:
        cursor.execute(LOAD, {"n": name, "d": _blob(connection, path), "m": json.dumps(metadata or METADATA)})


def _code(caught: pytest.ExceptionInfo[oracledb.DatabaseError]) -> str:
    return caught.value.args[0].full_code


def test_a_valid_graph_loads_and_answers(
    oracle_double: OracleDouble, oracle_connection: DoubleConnection, tmp_path: Path
) -> None:
    _load(oracle_connection, string_graph(tmp_path), "lower_case")
    with oracle_connection.cursor() as cursor:
        cursor.execute("SELECT VECTOR_EMBEDDING(LOWER_CASE USING :t AS DATA) FROM dual", t="hello")
        (vector,) = cursor.fetchone()
    assert list(vector) == [1.0] * 4 and "LOWER_CASE" in oracle_double.models


@pytest.mark.parametrize(
    ("metadata", "code"),
    [
        ({**METADATA, "input": {"text": ["DATA"]}}, "ORA-54408"),
        ({**METADATA, "embeddingoutput": "embedding"}, "ORA-20000"),  # keys are case-sensitive
        ({**METADATA, "function": "classification"}, "ORA-20000"),
        ({**METADATA, "embeddingOutput": "sentence_embedding"}, "ORA-20000"),
        ({**METADATA, "input": {"input": ["DATA"], "other": ["X"]}}, "ORA-20000"),
        ({**METADATA, "tokenizer": "wordpiece-ish"}, "ORA-20000"),
        ({**METADATA, "suitableDistanceMetrics": ["cosine"]}, "ORA-20000"),
        ({**METADATA, "normalization": "yes"}, "ORA-20000"),
    ],
)
def test_metadata_rules(oracle_connection: DoubleConnection, tmp_path: Path, metadata: dict, code: str) -> None:
    with pytest.raises(oracledb.DatabaseError) as caught:
        _load(oracle_connection, string_graph(tmp_path), metadata=metadata)
    assert _code(caught) == code


def test_metadata_must_be_json(oracle_connection: DoubleConnection, tmp_path: Path) -> None:
    with pytest.raises(oracledb.DatabaseError) as caught, oracle_connection.cursor() as cursor:
        cursor.execute(LOAD, {"n": "M", "d": _blob(oracle_connection, string_graph(tmp_path)), "m": "{function: embedding}"})
    assert _code(caught) == "ORA-40441"


@pytest.mark.parametrize(
    ("make", "code"),
    [
        pytest.param(lambda folder: encoder_graph(folder), "ORA-54426", id="token-ids-input"),
        pytest.param(lambda folder: string_graph(folder, dimension=70000), "ORA-51801", id="dimension"),
        pytest.param(lambda folder: string_graph(folder, custom_op="StringRegexReplace"), "ORA-13606", id="extension-op"),
        pytest.param(lambda folder: string_graph(folder, tail="com.microsoft::Gelu"), "ORA-13606", id="contrib-op"),
        pytest.param(
            lambda folder: string_graph(folder, tail="com.microsoft::Gelu", tail_in_loop=True),
            "ORA-13606",
            id="contrib-in-loop",
        ),
        pytest.param(
            lambda folder: string_graph(folder, tail="my.domain::BertTokenizer"), "ORA-13606", id="tokenizer-name-elsewhere"
        ),
    ],
)
def test_graph_rules(oracle_connection: DoubleConnection, tmp_path: Path, make, code: str) -> None:  # type: ignore[no-untyped-def]
    metadata = {**METADATA, "input": {"input_ids": ["DATA"]}} if code == "ORA-54426" else METADATA
    with pytest.raises(oracledb.DatabaseError) as caught:
        _load(oracle_connection, make(tmp_path), metadata=metadata)
    assert _code(caught) == code


@pytest.mark.parametrize("tail_in_loop", [False, True])
def test_documented_ops_load_at_any_depth(
    oracle_double: OracleDouble, oracle_connection: DoubleConnection, tmp_path: Path, tail_in_loop: bool
) -> None:
    _load(oracle_connection, string_graph(tmp_path, tail="ai.onnx.ml::Normalizer", tail_in_loop=tail_in_loop))
    assert "M" in oracle_double.models


@pytest.mark.parametrize("name", ["1ABC", "A-B", "A" * 124, "SCHEMA.MODEL", ""])
def test_name_rules(oracle_connection: DoubleConnection, tmp_path: Path, name: str) -> None:
    with pytest.raises(oracledb.DatabaseError) as caught:
        _load(oracle_connection, string_graph(tmp_path), name=name)
    assert _code(caught) == "ORA-20000"


def test_names_are_stored_upper_case_and_are_unique(
    oracle_double: OracleDouble, oracle_connection: DoubleConnection, tmp_path: Path
) -> None:
    _load(oracle_connection, string_graph(tmp_path), name="a$b#1")
    assert list(oracle_double.models) == ["A$B#1"]
    with pytest.raises(oracledb.DatabaseError) as caught:
        _load(oracle_connection, string_graph(tmp_path), name="A$B#1")
    assert _code(caught) == "ORA-00955"


def test_literals_and_byte_copies_are_refused(oracle_connection: DoubleConnection, tmp_path: Path) -> None:
    with pytest.raises(BindPolicyError), oracle_connection.cursor() as cursor:
        cursor.execute(
            "BEGIN DBMS_VECTOR.LOAD_ONNX_MODEL(model_name => 'M', model_data => :d, metadata => JSON(:m)); END;",
            d=_blob(oracle_connection, string_graph(tmp_path)),
            m=json.dumps(METADATA),
        )
    with pytest.raises(BindPolicyError), oracle_connection.cursor() as cursor:
        cursor.execute(LOAD, n="M", d=string_graph(tmp_path).read_bytes(), m=json.dumps(METADATA))
    with pytest.raises(BindPolicyError), oracle_connection.cursor() as cursor:
        cursor.execute("SELECT model_name FROM user_mining_models WHERE model_name = 'M'")


def test_unknown_model_and_wrong_attribute(oracle_connection: DoubleConnection, tmp_path: Path) -> None:
    with pytest.raises(oracledb.DatabaseError) as caught, oracle_connection.cursor() as cursor:
        cursor.execute("SELECT VECTOR_EMBEDDING(NOPE USING :t AS DATA) FROM dual", t="x")
    assert _code(caught) == "ORA-40284"
    _load(oracle_connection, string_graph(tmp_path))
    with pytest.raises(oracledb.DatabaseError) as caught, oracle_connection.cursor() as cursor:
        cursor.execute("SELECT VECTOR_EMBEDDING(M USING :t AS TEXT) FROM dual", t="x")
    assert _code(caught) == "ORA-00904"


def test_external_data_file_name_is_26ai_only(tmp_path: Path) -> None:
    database = OracleDouble(flavour="23ai")
    database.create_directory("DM_DUMP", tmp_path)
    string_graph(tmp_path)
    with pytest.raises(oracledb.DatabaseError) as caught, database.connect().cursor() as cursor:
        cursor.execute(
            "BEGIN DBMS_VECTOR.LOAD_ONNX_MODEL(directory => :d, file_name => :f, model_name => :n, metadata => JSON(:m),"
            " external_data_file_name => :e); END;",
            d="DM_DUMP",
            f="ok.onnx",
            n="M",
            m=json.dumps(METADATA),
            e="ok.json",
        )
    assert _code(caught) == "PLS-00306"
