"""Against a real Oracle Database 23ai/26ai, when EMBEDPIPE_ORACLE_DSN, _USER and _PASSWORD are set.

docs/oracle.md shows how to start Oracle Database Free in a container and run these.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from embedpipe.runtime import embed, open_session
from embedpipe_oracle.connection import ConnectionSettings
from embedpipe_oracle.database import Database
from embedpipe_oracle.errors import ModelExistsError
from embedpipe_oracle.load import load_file

REQUIRED = ("EMBEDPIPE_ORACLE_DSN", "EMBEDPIPE_ORACLE_USER", "EMBEDPIPE_ORACLE_PASSWORD")
pytestmark = pytest.mark.skipif(
    not all(os.environ.get(name) for name in REQUIRED),
    reason="no real database: set EMBEDPIPE_ORACLE_DSN, EMBEDPIPE_ORACLE_USER and EMBEDPIPE_ORACLE_PASSWORD (docs/oracle.md)",
)


@pytest.fixture
def real_connection() -> Iterator[Any]:
    connection = ConnectionSettings.gather({}).connect()
    yield connection
    connection.close()


@pytest.fixture
def model_name(real_connection: Any) -> Iterator[str]:
    """A fresh name, dropped afterwards with any staging model this test run left."""
    name = f"EMBEDPIPE_TEST_{secrets.token_hex(4).upper()}"
    yield name
    database = Database(real_connection)
    database.drop(name)
    with real_connection.cursor() as cursor:
        cursor.execute("SELECT model_name FROM user_mining_models WHERE model_name LIKE :prefix", prefix="EMBEDPIPE_STAGE_%")
        assert cursor.fetchall() == [], "a staging model was left behind"


def test_load_verify_and_search(real_connection: Any, model_name: str, oracle_minilm_file: Path) -> None:
    result = load_file(oracle_minilm_file, model_name, connection=real_connection)
    assert result.dimension == 384 and result.min_cosine >= 0.9999
    texts = ["a cat sits on the mat", "stock markets fell sharply", "kittens are small cats"]
    with real_connection.cursor() as cursor:
        cursor.execute(
            f"SELECT VECTOR_DISTANCE(VECTOR_EMBEDDING({model_name} USING :a AS DATA),"
            f" VECTOR_EMBEDDING({model_name} USING :b AS DATA), COSINE) FROM dual",
            a=texts[0],
            b=texts[2],
        )
        (near,) = cursor.fetchone()
    local = embed(open_session(oracle_minilm_file), texts)
    assert abs(float(near) - (1 - float(np.dot(local[0], local[2])))) < 1e-4


def test_replace_keeps_one_model(
    real_connection: Any, model_name: str, oracle_tiny_file: Path, oracle_other_tiny_file: Path
) -> None:
    load_file(oracle_tiny_file, model_name, connection=real_connection)
    with pytest.raises(ModelExistsError):
        load_file(oracle_other_tiny_file, model_name, connection=real_connection)
    result = load_file(oracle_other_tiny_file, model_name, connection=real_connection, replace=True)
    assert result.replaced
    want = embed(open_session(oracle_other_tiny_file), ["probe"])[0]
    np.testing.assert_allclose(Database(real_connection).embed(model_name, "probe"), want, atol=1e-4)
