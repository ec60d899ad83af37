"""The PL/SQL and queries the sink sends: every name and value travels as a bind variable.

Only ``VECTOR_EMBEDDING``, ``PREDICTION`` and ``PREDICTION_PROBABILITY`` take the model as an
identifier, which SQL cannot bind; they receive a name that ``names.check_model_name`` has already
reduced to letters, digits, ``_ $ #``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import oracledb

from embedpipe_oracle.metadata import SQL_ATTRIBUTE

DEFAULT_CHUNK_BYTES = 8 << 20  # one LOB write; a multiple of every LOB chunk size Oracle uses

_LOAD_BLOB = """
BEGIN
  DBMS_VECTOR.LOAD_ONNX_MODEL(model_name => :model_name, model_data => :model_data, metadata => JSON(:metadata));
END;"""
_LOAD_DIRECTORY = """
BEGIN
  DBMS_VECTOR.LOAD_ONNX_MODEL(directory => :directory, file_name => :file_name, model_name => :model_name,
                              metadata => JSON(:metadata){external});
END;"""
_EXTERNAL_ARGUMENT = ", external_data_file_name => :external_data_file_name"
_DROP = "BEGIN DBMS_VECTOR.DROP_ONNX_MODEL(model_name => :model_name, force => TRUE); END;"
_RENAME = "BEGIN DBMS_DATA_MINING.RENAME_MODEL(model_name => :model_name, new_model_name => :new_model_name); END;"
_MODEL = "SELECT mining_function, algorithm FROM user_mining_models WHERE model_name = :model_name"
_ATTRIBUTES = (
    "SELECT attribute_name, attribute_type, vector_info FROM user_mining_model_attributes WHERE model_name = :model_name"
)


class Database:
    """The sink's view of one connection: models in the user's schema and how to change them."""

    def __init__(self, connection: Any) -> None:
        self.connection = connection

    def _run(self, sql: str, **binds: Any) -> list[tuple[Any, ...]]:
        with self.connection.cursor() as cursor:
            cursor.execute(sql, binds)
            return list(cursor.fetchall()) if cursor.description else []

    def model(self, name: str) -> tuple[str, str] | None:
        """(mining function, algorithm) of a model in the user's schema, or None."""
        rows = self._run(_MODEL, model_name=name)
        return (str(rows[0][0]), str(rows[0][1])) if rows else None

    def attributes(self, name: str) -> list[tuple[str, str, str | None]]:
        """(attribute name, attribute type, vector info) of each of the model's attributes."""
        return [(str(a), str(t), None if v is None else str(v)) for a, t, v in self._run(_ATTRIBUTES, model_name=name)]

    def load_blob(self, name: str, model: Path, metadata: dict[str, Any], *, chunk_bytes: int = DEFAULT_CHUNK_BYTES) -> None:
        """Stream ``model`` into a temporary BLOB, ``chunk_bytes`` at a time, and load it."""
        blob = self.stream_to_blob(model, chunk_bytes)
        self._run(_LOAD_BLOB, model_name=name, model_data=blob, metadata=json.dumps(metadata))

    def stream_to_blob(self, model: Path, chunk_bytes: int) -> Any:
        """A temporary LOB holding the file's bytes; only one chunk is ever in Python's memory."""
        blob = self.connection.createlob(oracledb.DB_TYPE_BLOB)
        offset = 1  # LOB offsets count from 1
        with model.open("rb") as handle:
            while chunk := handle.read(chunk_bytes):
                blob.write(chunk, offset)
                offset += len(chunk)
        return blob

    def load_from_directory(
        self, name: str, directory: str, file_name: str, metadata: dict[str, Any], *, external_data_file_name: str | None = None
    ) -> None:
        """Load a file the database server can already read through a directory object."""
        binds = {"directory": directory, "file_name": file_name, "model_name": name, "metadata": json.dumps(metadata)}
        if external_data_file_name is not None:
            binds["external_data_file_name"] = external_data_file_name
        self._run(_LOAD_DIRECTORY.format(external=_EXTERNAL_ARGUMENT if external_data_file_name else ""), **binds)

    def drop(self, name: str) -> None:
        """Drop a model; ``force`` makes a missing one no error."""
        self._run(_DROP, model_name=name)

    def rename(self, name: str, new_name: str) -> None:
        self._run(_RENAME, model_name=name, new_model_name=new_name)

    def embed(self, name: str, text: str) -> np.ndarray:
        """``VECTOR_EMBEDDING`` of one text, as float32 (``name`` is a checked identifier, see the module doc)."""
        rows = self._run(f"SELECT VECTOR_EMBEDDING({name} USING :text AS {SQL_ATTRIBUTE}) FROM dual", text=text)
        value = rows[0][0] if rows else None
        return np.zeros(0, dtype=np.float32) if value is None else np.asarray(value, dtype=np.float32)

    def predict(self, name: str, texts: dict[str, str], *, probability: bool = False) -> Any:
        """``PREDICTION`` (a reranker's score, a classifier's label) or ``PREDICTION_PROBABILITY`` of
        the texts given as their attributes (``name`` and the attributes are checked identifiers)."""
        function = "PREDICTION_PROBABILITY" if probability else "PREDICTION"
        using = ", ".join(f":text{i} AS {attribute}" for i, attribute in enumerate(texts))
        binds = {f"text{i}": text for i, text in enumerate(texts.values())}
        rows = self._run(f"SELECT {function}({name} USING {using}) FROM dual", **binds)
        return rows[0][0] if rows else None
