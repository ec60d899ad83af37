"""The ``oracle`` sink behind ``ONNXPipeline.export2db``."""

from __future__ import annotations

from pathlib import Path

import pytest
from embedpipe.errors import ConfigError
from embedpipe_oracle.sink import OracleSink

from tests.oracle.double import DoubleConnection, OracleDouble


def test_export2db_loads_the_validated_pipeline_graph(
    oracle_double: OracleDouble, oracle_connection: DoubleConnection, minilm_export
) -> None:  # type: ignore[no-untyped-def]
    pipe, _ = minilm_export
    assert pipe.export2db("all_minilm_l6_v2", connection=oracle_connection, languages=["en"]) == []
    stored = oracle_double.models["ALL_MINILM_L6_V2"]
    assert stored.dimension == 384 and stored.metadata["languages"] == ["en"] and stored.metadata["pooling"] == "mean"
    assert not oracle_connection.closed


def test_export2db_replace(oracle_double: OracleDouble, oracle_connection: DoubleConnection, minilm_export) -> None:  # type: ignore[no-untyped-def]
    pipe, _ = minilm_export
    pipe.export2db("MINI", connection=oracle_connection)
    pipe.export2db("MINI", connection=oracle_connection, replace=True)
    assert list(oracle_double.models) == ["MINI"]


def test_unknown_option_is_refused(oracle_connection: DoubleConnection, oracle_tiny_file: Path) -> None:
    import onnx

    with pytest.raises(ConfigError, match="does not take overwrite"):
        OracleSink().write(onnx.load(str(oracle_tiny_file)), "M", Path("."), connection=oracle_connection, overwrite=True)


def test_directory_needs_a_file_name(oracle_connection: DoubleConnection, oracle_tiny_file: Path) -> None:
    import onnx

    with pytest.raises(ConfigError, match="file_name"):
        OracleSink().write(onnx.load(str(oracle_tiny_file)), "M", Path("."), connection=oracle_connection, directory="DM_DUMP")


def test_sink_directory_load(
    oracle_double: OracleDouble, oracle_connection: DoubleConnection, oracle_tiny_file: Path, server_directory
) -> None:  # type: ignore[no-untyped-def]
    import onnx

    server_directory(oracle_double, oracle_tiny_file)
    OracleSink().write(
        onnx.load(str(oracle_tiny_file)),
        "FROMDIR",
        Path("."),
        connection=oracle_connection,
        directory="DM_DUMP",
        file_name="tiny_bert.onnx",
    )
    assert oracle_double.calls[0][1]["file_name"] == "tiny_bert.onnx" and "FROMDIR" in oracle_double.models
