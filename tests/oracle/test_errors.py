"""The ORA codes users meet become one line that says what is wrong and what to do."""

from __future__ import annotations

import pytest
from embedpipe_oracle.errors import ModelExistsError, OracleConnectionError, explain

from tests.oracle.double import ora


@pytest.mark.parametrize(
    ("error", "says", "fix"),
    [
        (ora(54408, 'The "input.text" field in the JSON metadata is not a model input.'), "not have", "input 'input'"),
        (ora(54426, 'Tensor "input_ids" contains 2 batch dimensions.'), "token ids", "tokenization is inside the graph"),
        (ora(13606, "error while loading the ONNX model"), "could not load the graph", "embedpipe inspect"),
        (ora(40284, "model does not exist"), "no model M in this schema", "schema you connect as"),
        (ora(51801, "Vector dimension count must be between 1 and 65535"), "vector dimension", "1 to 65535"),
        (ora(20000, "The model size exceeds the maximum"), "DBMS_VECTOR refused", "Oracle's reason"),
        (ora(1031, "insufficient privileges"), "lacks a privilege", "GRANT CREATE MINING MODEL"),
        (ora(29289, "directory access denied"), "may not read that directory", "GRANT READ ON DIRECTORY"),
        (ora(201, "identifier 'DBMS_VECTOR.LOAD_ONNX_MODEL' must be declared", "PLS"), "no DBMS_VECTOR", "23ai or later"),
        (ora(306, "wrong number or types of arguments", "PLS"), "does not take these arguments", "26ai"),
        (ora(12345, "something rare"), "Oracle Database refused the request", "error reference"),
    ],
)
def test_known_codes(error: Exception, says: str, fix: str) -> None:
    explained = explain(error, model="M")
    problem, _, advice = str(explained).partition("; ")
    assert says in problem and fix in advice and "\n" not in str(explained)
    assert error.args[0].full_code in problem  # Oracle's own code and words stay visible


def test_connection_codes_are_connection_errors() -> None:
    assert isinstance(explain(ora(1017, "invalid credential or not authorized; logon denied")), OracleConnectionError)
    assert isinstance(explain(ora(12514, "Cannot connect to database. Service x is not registered")), OracleConnectionError)
    assert isinstance(explain(ora(955, "name is already used by an existing object"), model="M"), ModelExistsError)
