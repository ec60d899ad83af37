"""Op profiles at the database: `oracle` graphs load silently; a graph with ops Oracle does not
document (a `portable` one) gets one warning line before anything is sent, and the double, like
Oracle for an unsupported custom op, refuses it."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import onnx
import oracledb
import pytest
from click.testing import CliRunner
from embedpipe.cli import main
from embedpipe.oprule import undocumented_ops
from embedpipe_oracle.errors import OracleSinkError
from embedpipe_oracle.load import load_file
from embedpipe_oracle.sink import OracleSink

from tests.oracle.double import DoubleConnection, OracleDouble
from tests.oracle.graphs import string_graph

FIX = "re-export it with the default --op-profile oracle"


class _Timeline(logging.Handler):
    """Each warning of the sink's loggers with the procedures the database had been sent by then."""

    def __init__(self, database: OracleDouble) -> None:
        super().__init__(logging.WARNING)
        self.database = database
        self.seen: list[tuple[str, list[str]]] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.seen.append((record.getMessage(), self.database.procedures()))


@pytest.fixture
def timeline(oracle_double: OracleDouble) -> Iterator[_Timeline]:
    handler = _Timeline(oracle_double)
    logger = logging.getLogger("embedpipe_oracle")
    logger.addHandler(handler)
    yield handler
    logger.removeHandler(handler)


def test_an_oracle_profile_graph_loads_without_a_warning(
    oracle_double: OracleDouble, oracle_connection: DoubleConnection, oracle_tiny_file: Path, timeline: _Timeline
) -> None:
    assert undocumented_ops(onnx.load(str(oracle_tiny_file))) == []
    load_file(oracle_tiny_file, "QUIET", connection=oracle_connection)
    assert timeline.seen == [] and "QUIET" in oracle_double.models


def test_a_portable_graph_warns_once_before_loading_and_the_double_refuses_it(
    oracle_double: OracleDouble, oracle_connection: DoubleConnection, oracle_portable_file: Path, timeline: _Timeline
) -> None:
    ops = undocumented_ops(onnx.load(str(oracle_portable_file)))
    assert ops and all(op.startswith("com.microsoft::") for op in ops)
    with pytest.raises(OracleSinkError, match="ORA-13606.*com.microsoft"):
        load_file(oracle_portable_file, "PORTABLE", connection=oracle_connection)
    ((message, sent_before),) = timeline.seen
    assert sent_before == [] and oracle_double.procedures() == ["DBMS_VECTOR.LOAD_ONNX_MODEL"]
    assert "\n" not in message and FIX in message
    built = "tiny_portable.onnx (built with --op-profile portable)"
    assert message.startswith(f"{built} uses ops Oracle does not document ({', '.join(ops)})")
    assert oracle_double.models == {}


def test_the_sink_warns_about_the_graph_by_the_models_name(
    oracle_double: OracleDouble, oracle_connection: DoubleConnection, tmp_path: Path, timeline: _Timeline
) -> None:
    model = onnx.load(str(string_graph(tmp_path, tail="com.microsoft::Gelu")))
    with pytest.raises(OracleSinkError, match="ORA-13606"):
        OracleSink().write(model, "gelu", tmp_path, connection=oracle_connection)
    ((message, sent_before),) = timeline.seen
    assert sent_before == [] and message.startswith("GELU.onnx uses ops Oracle does not document (com.microsoft::Gelu)")


def _connect_cli_to(double: OracleDouble, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(oracledb, "connect", lambda **kwargs: double.connect(**kwargs))
    for variable, value in {"DSN": "localhost:1521/FREEPDB1", "USER": "scott", "PASSWORD": "pw"}.items():
        monkeypatch.setenv(f"EMBEDPIPE_ORACLE_{variable}", value)


def test_load_command_prints_the_warning_line_before_the_databases_error(
    monkeypatch: pytest.MonkeyPatch, oracle_double: OracleDouble, tmp_path: Path
) -> None:
    _connect_cli_to(oracle_double, monkeypatch)
    graph = string_graph(tmp_path, "looped", tail="com.microsoft::Gelu", tail_in_loop=True)
    result = CliRunner().invoke(main, ["load", str(graph), "--name", "LOOPED"])
    warning, error = result.stderr.splitlines()
    assert warning == (
        "warning: looped.onnx uses ops Oracle does not document (com.microsoft::Gelu), so the database may refuse it; "
        f"{FIX} (op_profile='oracle')"
    )
    assert error.startswith("error: loading: Oracle could not load the graph (ORA-13606") and result.exit_code == 2


def test_sql_command_warns_and_heads_the_script_with_the_warning(oracle_portable_file: Path, tmp_path: Path) -> None:
    target = tmp_path / "load.sql"
    result = CliRunner().invoke(main, ["sql", str(oracle_portable_file), "--name", "PORTABLE", "-o", str(target)])
    assert result.exit_code == 0, result.output
    (line,) = result.stderr.splitlines()
    assert line.startswith("warning: tiny_portable.onnx (built with --op-profile portable) uses ops Oracle does not document (")
    assert "(com.microsoft::" in line and FIX in line
    first, second, third = target.read_text(encoding="utf-8").splitlines()[:3]
    assert first == f"-- WARNING: {line.removeprefix('warning: ')}"
    assert second == "--" and third == "-- embedpipe: load tiny_portable.onnx into Oracle Database as PORTABLE"


def test_sql_command_is_silent_for_an_oracle_profile_graph(oracle_tiny_file: Path) -> None:
    result = CliRunner().invoke(main, ["sql", str(oracle_tiny_file), "--name", "QUIET"])
    assert result.exit_code == 0 and result.stderr == "" and "WARNING" not in result.stdout


def test_convert_to_db_prints_the_warning_as_one_warning_line(
    monkeypatch: pytest.MonkeyPatch, oracle_double: OracleDouble, tiny_model, tmp_path: Path  # type: ignore[no-untyped-def]
) -> None:
    """The core CLI turns the plugin's logged warning into its own "warning:" line; then the double refuses."""
    _connect_cli_to(oracle_double, monkeypatch)
    out = tmp_path / "portable.onnx"
    result = CliRunner().invoke(
        main, ["convert", str(tiny_model("bert-uncased")), "-o", str(out), "--op-profile", "portable", "--no-validate", "--to-db", "PORTABLE"]
    )
    warnings = [line for line in result.stderr.splitlines() if line.startswith("warning:")]
    assert len(warnings) == 1 and "PORTABLE.onnx (built with --op-profile portable)" in warnings[0] and FIX in warnings[0]
    assert result.exit_code == 2 and "ORA-13606" in result.stderr and "PORTABLE" not in oracle_double.models
