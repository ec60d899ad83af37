"""Loading from a server directory object, with and without 26ai external data."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
from embedpipe.errors import ConfigError
from embedpipe_oracle.errors import OracleSinkError
from embedpipe_oracle.files import model_files
from embedpipe_oracle.load import load_file

from tests.oracle.double import OracleDouble

Register = Callable[[OracleDouble, Path], Path]


def test_an_external_data_set_is_recognised(oracle_external_set: Path, oracle_tiny_file: Path) -> None:
    files = model_files(oracle_external_set)
    assert files.external and [p.name for p in files.all] == ["tiny_ext.onnx", "tiny_ext.dat", "tiny_ext.onnx_external_data.json"]
    assert not model_files(oracle_tiny_file).external


def test_an_incomplete_set_is_refused(oracle_external_set: Path, tmp_path: Path) -> None:
    shutil.copy(oracle_external_set, tmp_path / oracle_external_set.name)
    description = oracle_external_set.with_name("tiny_ext.onnx_external_data.json")
    shutil.copy(description, tmp_path / description.name)
    with pytest.raises(ConfigError, match="tiny_ext.dat is missing"):
        model_files(tmp_path / oracle_external_set.name)


def test_external_data_cannot_go_as_a_blob(oracle_double: OracleDouble, oracle_external_set: Path) -> None:
    with pytest.raises(OracleSinkError, match="only from a server directory.*--directory") as caught:
        load_file(oracle_external_set, "EXT", connection=oracle_double.connect())
    assert "tiny_ext.dat" in str(caught.value) and oracle_double.calls == []


def test_external_data_loads_from_a_directory_on_26ai(
    oracle_double: OracleDouble, oracle_external_set: Path, server_directory: Register
) -> None:
    server_directory(oracle_double, oracle_external_set)
    result = load_file(oracle_external_set, "EXT", connection=oracle_double.connect(), directory="dm_dump")
    assert result.inmemory_sql == "EXEC DBMS_DATA_MINING.INMEMORY_ONNX_MODEL('EXT');"
    assert oracle_double.models["EXT"].external and result.min_cosine >= 0.9999
    (procedure, arguments), *_ = oracle_double.calls
    assert procedure == "DBMS_VECTOR.LOAD_ONNX_MODEL"
    assert {k: arguments[k] for k in ("directory", "file_name", "external_data_file_name")} == {
        "directory": "DM_DUMP",
        "file_name": "tiny_ext.onnx",
        "external_data_file_name": "tiny_ext.onnx_external_data.json",
    }


def test_external_data_on_23ai_says_26ai_is_needed(oracle_external_set: Path, server_directory: Register) -> None:
    database = OracleDouble(flavour="23ai")
    server_directory(database, oracle_external_set)
    with pytest.raises(OracleSinkError, match="PLS-00306.*26ai"):
        load_file(oracle_external_set, "EXT", connection=database.connect(), directory="DM_DUMP")
    assert database.models == {}


def test_a_self_contained_file_from_a_directory(
    oracle_double: OracleDouble, oracle_tiny_file: Path, server_directory: Register
) -> None:
    server_directory(oracle_double, oracle_tiny_file)
    result = load_file(oracle_tiny_file, "DIRLOAD", connection=oracle_double.connect(), directory="DM_DUMP")
    assert result.inmemory_sql is None and not oracle_double.models["DIRLOAD"].external
    assert "external_data_file_name" not in oracle_double.calls[0][1] and oracle_double.lob_writes == []


def test_missing_directory_object_and_missing_grant(
    oracle_double: OracleDouble, oracle_tiny_file: Path, server_directory: Register
) -> None:
    with pytest.raises(OracleSinkError, match="ORA-22285.*CREATE DIRECTORY"):
        load_file(oracle_tiny_file, "NODIR", connection=oracle_double.connect(), directory="DM_DUMP")
    folder = server_directory(oracle_double, oracle_tiny_file)
    oracle_double.create_directory("DM_DUMP", folder, read=False)
    with pytest.raises(OracleSinkError, match="ORA-29289.*GRANT READ ON DIRECTORY"):
        load_file(oracle_tiny_file, "NODIR", connection=oracle_double.connect(), directory="DM_DUMP")
    assert oracle_double.models == {}
