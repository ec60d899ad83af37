"""`embedpipe load` and `embedpipe sql`: one line and exit 2 on bad input, nothing half-written."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import numpy as np
import oracledb
import pytest
from click.testing import CliRunner
from embedpipe.cli import main
from embedpipe.runtime import embed, open_session
from embedpipe_oracle.verify import SAMPLES

from tests.oracle.double import OracleDouble

SECRET = "s3cret-Pa55word"


@pytest.fixture
def database(monkeypatch: pytest.MonkeyPatch, oracle_double: OracleDouble) -> OracleDouble:
    """oracledb.connect answers with the double; DSN and user come from the environment."""
    monkeypatch.setattr(oracledb, "connect", lambda **kwargs: oracle_double.connect(**kwargs))
    monkeypatch.setenv("EMBEDPIPE_ORACLE_DSN", "localhost:1521/FREEPDB1")
    monkeypatch.setenv("EMBEDPIPE_ORACLE_USER", "scott")
    monkeypatch.delenv("EMBEDPIPE_ORACLE_PASSWORD", raising=False)
    return oracle_double


def test_load_prompts_for_the_password_and_reports(database: OracleDouble, oracle_tiny_file: Path) -> None:
    result = CliRunner().invoke(main, ["load", str(oracle_tiny_file), "--name", "tiny"], input=f"{SECRET}\n")
    assert result.exit_code == 0, result.output
    assert "loaded TINY: VECTOR(32, FLOAT32), verified in the database" in result.stdout
    assert "SELECT VECTOR_EMBEDDING(TINY USING 'hello world' AS DATA) FROM dual" in result.stdout
    assert SECRET not in result.output and "TINY" in database.models


def test_load_json_and_replace(
    database: OracleDouble, oracle_tiny_file: Path, oracle_other_tiny_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("EMBEDPIPE_ORACLE_PASSWORD", SECRET)
    loaded = CliRunner().invoke(main, ["load", str(oracle_tiny_file), "--name", "M"])
    assert loaded.exit_code == 0 and loaded.stderr == ""  # an oracle-profile graph: no warning
    refused = CliRunner().invoke(main, ["load", str(oracle_other_tiny_file), "--name", "M"])
    assert refused.exit_code == 2 and refused.stderr.strip() == (
        "error: a model named M already exists in this schema; pass --replace (replace=True) to replace it without loss"
    )
    replaced = CliRunner().invoke(main, ["load", str(oracle_other_tiny_file), "--name", "M", "--replace", "--json"])
    report = json.loads(replaced.stdout)
    assert report["replaced"] is True and report["dimension"] == 32 and report["metadata"]["input"] == {"input": ["DATA"]}


def test_there_is_no_password_option(database: OracleDouble, oracle_tiny_file: Path) -> None:
    result = CliRunner().invoke(main, ["load", str(oracle_tiny_file), "--name", "M", "--password", SECRET])
    assert result.exit_code == 2 and "No such option '--password'" in result.stderr and database.calls == []


def test_bad_name_is_one_line_before_connecting(database: OracleDouble, oracle_tiny_file: Path) -> None:
    result = CliRunner().invoke(main, ["load", str(oracle_tiny_file), "--name", "my-model"], input=f"{SECRET}\n")
    assert result.exit_code == 2 and result.stderr.count("\n") == 1
    assert result.stderr.startswith("error: model name 'my-model' is not a valid Oracle identifier; start with a letter")
    assert database.calls == []


def test_external_load_prints_the_inmemory_call(
    database: OracleDouble, oracle_external_set: Path, server_directory, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("EMBEDPIPE_ORACLE_PASSWORD", SECRET)
    server_directory(database, oracle_external_set)
    result = CliRunner().invoke(main, ["load", str(oracle_external_set), "--name", "EXT", "--directory", "DM_DUMP"])
    assert result.exit_code == 0, result.output
    assert "EXEC DBMS_DATA_MINING.INMEMORY_ONNX_MODEL('EXT');" in result.stdout


def test_what_convert_writes_feeds_sql_and_load_unchanged(
    database: OracleDouble, oracle_external_set: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issue 14: the unzipped export, every file as written and nothing else, goes to `sql` and `load --directory`."""
    monkeypatch.setenv("EMBEDPIPE_ORACLE_PASSWORD", SECRET)
    script = CliRunner().invoke(main, ["sql", str(oracle_external_set), "--name", "EXT", "-o", str(tmp_path / "load.sql")])
    assert script.exit_code == 0, script.output
    copy = re.search(r"-- 1\. Copy (.*) into", (tmp_path / "load.sql").read_text(encoding="utf-8"))
    assert copy is not None and set(copy.group(1).split(", ")) == {p.name for p in oracle_external_set.parent.iterdir()}
    database.create_directory("DM_DUMP", shutil.copytree(oracle_external_set.parent, tmp_path / "server"))
    loaded = CliRunner().invoke(main, ["load", str(oracle_external_set), "--name", "EXT", "--directory", "DM_DUMP"])
    assert loaded.exit_code == 0, loaded.output
    assert database.models["EXT"].external


def test_the_export_meets_oracles_default_description_lookup(oracle_double: OracleDouble, oracle_external_set: Path) -> None:
    """Without external_data_file_name, 26ai looks for <file_name>_external_data.json: the export's own name."""
    oracle_double.create_directory("DM_DUMP", oracle_external_set.parent)
    with oracle_double.connect().cursor() as cursor:
        cursor.execute(
            "BEGIN DBMS_VECTOR.LOAD_ONNX_MODEL(directory => :d, file_name => :f, model_name => :n, metadata => JSON(:m)); END;",
            d="DM_DUMP",
            f=oracle_external_set.name,
            n="EXT",
            m=json.dumps({"function": "embedding", "embeddingOutput": "embedding", "input": {"input": ["DATA"]}}),
        )
    assert oracle_double.models["EXT"].external


def _script(arguments: list[str]) -> str:
    result = CliRunner().invoke(main, ["sql", *arguments])
    assert result.exit_code == 0, result.output
    return result.stdout


def test_sql_script_loads_from_the_directory_and_verifies(oracle_tiny_file: Path) -> None:
    script = _script([str(oracle_tiny_file), "--name", "tiny_model", "--directory", "models_dir"])
    load = re.search(r"BEGIN\n  DBMS_VECTOR\.LOAD_ONNX_MODEL\((.*?)\);\nEND;\n/", script, re.DOTALL)
    assert load is not None
    assert "directory => 'MODELS_DIR'" in load.group(1) and "file_name => 'tiny_bert.onnx'" in load.group(1)
    assert "model_name => 'TINY_MODEL'" in load.group(1) and "external_data_file_name" not in load.group(1)
    metadata = json.loads(re.search(r"metadata => JSON\('(.*?)'\)", load.group(1)).group(1).replace("''", "'"))
    assert metadata["function"] == "embedding" and metadata["input"] == {"input": ["DATA"]}
    assert "GRANT READ ON DIRECTORY MODELS_DIR" in script and "GRANT CREATE MINING MODEL" in script
    assert "WHERE model_name = 'TINY_MODEL'" in script and "INMEMORY_ONNX_MODEL" not in script
    # The expected vectors in the script are the local graph's, for every sample.
    literals = re.findall(r"TO_VECTOR\((.*?), 32, FLOAT32\)", script, re.DOTALL)
    assert len(literals) == len(SAMPLES)
    session = open_session(oracle_tiny_file)
    for text, literal in zip(SAMPLES, literals):
        values = json.loads("".join(re.findall(r"'((?:[^']|'')*)'", literal)))
        np.testing.assert_allclose(values, embed(session, [text])[0], rtol=1e-6, atol=1e-7)
        assert f"VECTOR_EMBEDDING(TINY_MODEL USING {_quoted(text)} AS DATA)" in script


def _quoted(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def test_sql_script_for_external_data(oracle_external_set: Path, tmp_path: Path) -> None:
    target = tmp_path / "load.sql"
    result = CliRunner().invoke(main, ["sql", str(oracle_external_set), "--name", "EXT", "-o", str(target)])
    assert result.exit_code == 0, result.output
    script = target.read_text(encoding="utf-8")
    assert "external_data_file_name => 'tiny_ext.onnx_external_data.json'" in script and "26ai" in script
    assert "Copy tiny_ext.onnx, tiny_ext.dat, tiny_ext.onnx_external_data.json" in script
    assert script.rstrip().endswith("EXEC DBMS_DATA_MINING.INMEMORY_ONNX_MODEL('EXT');")


def test_sql_bad_input_writes_nothing(oracle_tiny_file: Path, tmp_path: Path) -> None:
    target = tmp_path / "load.sql"
    for arguments, says in [
        (["--name", "1x"], "model name '1x' is not a valid Oracle identifier"),
        (["--name", "X", "--directory", "/srv/models"], "directory object name '/srv/models'"),
    ]:
        result = CliRunner().invoke(main, ["sql", str(oracle_tiny_file), *arguments, "-o", str(target)])
        assert result.exit_code == 2 and says in result.stderr and result.stderr.count("\n") == 1
    assert list(tmp_path.iterdir()) == []


def test_plugin_registers_sink_and_commands() -> None:
    from embedpipe.plugins import get_plugin_manager

    manager = get_plugin_manager()
    assert "oracle" in manager.registry("sinks")
    assert {"load", "sql"} <= set(manager.registry("commands"))
