"""--replace swaps models without loss: a failure injected at any step leaves the old model answering."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from embedpipe.runtime import embed, open_session
from embedpipe_oracle.database import Database
from embedpipe_oracle.errors import OracleSinkError
from embedpipe_oracle.load import load_file

from tests.oracle.double import DoubleConnection, OracleDouble, ora

PROBE = "the old model must still answer"


@pytest.fixture
def old_model(oracle_double: OracleDouble, oracle_connection: DoubleConnection, oracle_tiny_file: Path) -> np.ndarray:
    """The tiny model live as M; returns its local vector for PROBE."""
    load_file(oracle_tiny_file, "M", connection=oracle_connection)
    return embed(open_session(oracle_tiny_file), [PROBE])[0]


def _assert_old_model_intact(database: OracleDouble, connection: DoubleConnection, old_vector: np.ndarray) -> None:
    assert list(database.models) == ["M"], f"left behind: {sorted(database.models)}"
    np.testing.assert_allclose(Database(connection).embed("M", PROBE), old_vector, atol=1e-6)


def test_replace_swaps_in_the_verified_model(
    oracle_double: OracleDouble, oracle_connection: DoubleConnection, oracle_other_tiny_file: Path, old_model: np.ndarray
) -> None:
    calls_before = len(oracle_double.calls)
    result = load_file(oracle_other_tiny_file, "M", connection=oracle_connection, replace=True)
    assert result.replaced
    assert list(oracle_double.models) == ["M"]
    new_vector = embed(open_session(oracle_other_tiny_file), [PROBE])[0]
    assert not np.allclose(new_vector, old_model, atol=1e-3)
    np.testing.assert_allclose(Database(oracle_connection).embed("M", PROBE), new_vector, atol=1e-6)
    steps = [(p, a) for p, a in oracle_double.calls[calls_before:]]
    assert [p for p, _ in steps] == [
        "DBMS_VECTOR.LOAD_ONNX_MODEL",
        "DBMS_DATA_MINING.RENAME_MODEL",
        "DBMS_DATA_MINING.RENAME_MODEL",
        "DBMS_VECTOR.DROP_ONNX_MODEL",
    ]
    staged = steps[0][1]["model_name"]
    retired = steps[1][1]["new_model_name"]
    assert staged != "M" and retired not in {"M", staged}
    assert steps[1][1]["model_name"] == "M" and steps[2][1] == {"model_name": staged, "new_model_name": "M"}
    assert steps[3][1]["model_name"] == retired


@pytest.mark.parametrize(
    ("target", "nth", "step"),
    [
        ("DBMS_VECTOR.LOAD_ONNX_MODEL", 1, "loading"),
        ("USER_MINING_MODELS", 2, "verifying"),  # the first query is the existence check
        ("USER_MINING_MODEL_ATTRIBUTES", 1, "verifying"),
        ("VECTOR_EMBEDDING", 3, "verifying"),
        ("DBMS_DATA_MINING.RENAME_MODEL", 1, "renaming the old M aside"),
        ("DBMS_DATA_MINING.RENAME_MODEL", 2, "renaming the new model to M"),
        ("DBMS_VECTOR.DROP_ONNX_MODEL", 1, "dropping the old model"),
    ],
)
def test_failure_at_any_step_keeps_the_old_model(
    oracle_double: OracleDouble,
    oracle_connection: DoubleConnection,
    oracle_other_tiny_file: Path,
    old_model: np.ndarray,
    target: str,
    nth: int,
    step: str,
) -> None:
    oracle_double.fail(target, ora(4031, "unable to allocate 4096 bytes of shared memory"), nth=nth)
    with pytest.raises(OracleSinkError) as caught:
        load_file(oracle_other_tiny_file, "M", connection=oracle_connection, replace=True)
    message = str(caught.value)
    assert message.startswith(f"{step}: ") and "ORA-04031" in message and "\n" not in message
    _assert_old_model_intact(oracle_double, oracle_connection, old_model)


def test_verification_mismatch_during_replace_keeps_the_old_model(
    oracle_double: OracleDouble, oracle_connection: DoubleConnection, oracle_other_tiny_file: Path, old_model: np.ndarray
) -> None:
    oracle_double.embedding_tamper = lambda v: -v
    with pytest.raises(OracleSinkError, match="differs from the local graph"):
        load_file(oracle_other_tiny_file, "M", connection=oracle_connection, replace=True)
    oracle_double.embedding_tamper = None
    _assert_old_model_intact(oracle_double, oracle_connection, old_model)


def test_a_failed_rollback_names_what_is_left(
    oracle_double: OracleDouble, oracle_connection: DoubleConnection, oracle_other_tiny_file: Path, old_model: np.ndarray
) -> None:
    oracle_double.fail("DBMS_DATA_MINING.RENAME_MODEL", ora(4031, "unable to allocate 4096 bytes of shared memory"), nth=2)
    oracle_double.fail("DBMS_DATA_MINING.RENAME_MODEL", ora(4031, "unable to allocate 4096 bytes of shared memory"), nth=3)
    with pytest.raises(OracleSinkError) as caught:
        load_file(oracle_other_tiny_file, "M", connection=oracle_connection, replace=True)
    message = str(caught.value)
    (retired,) = oracle_double.models  # the rename back failed: the old model sits under its retired name
    assert retired != "M" and f"old model renamed to {retired} (rename it back to M)" in message and "\n" not in message
    np.testing.assert_allclose(Database(oracle_connection).embed(retired, PROBE), old_model, atol=1e-6)
