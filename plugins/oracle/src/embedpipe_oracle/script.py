"""``embedpipe sql``: a SQL*Plus script a DBA runs after copying the files into a directory object.

The script loads with the directory variant of LOAD_ONNX_MODEL, then checks what the sink checks:
an EMBEDDING model, output VECTOR(D, FLOAT32), and the local graph's vectors (cosine distance at
most 1 - 0.9999, computed by the database with VECTOR_DISTANCE). A script has no bind variables,
so every literal is either a checked identifier or a quoted string with its quotes doubled.
"""

from __future__ import annotations

import json
from typing import Any

import numpy as np

from embedpipe_oracle.files import ModelFiles
from embedpipe_oracle.load import inmemory_call
from embedpipe_oracle.metadata import SQL_ATTRIBUTE
from embedpipe_oracle.verify import MIN_COSINE

_PIECE = 1000  # characters per string literal, well under PL/SQL's 32767


def quote(text: str) -> str:
    """A SQL string literal."""
    return "'" + text.replace("'", "''") + "'"


def _vector_literal(vector: np.ndarray) -> str:
    """TO_CLOB('[..') || '..]': a vector as text in pieces PL/SQL literals can hold."""
    text = "[" + ",".join(f"{float(v):.8g}" for v in vector) + "]"
    pieces = [text[i : i + _PIECE] for i in range(0, len(text), _PIECE)]
    return " ||\n    ".join([f"TO_CLOB({quote(pieces[0])})", *map(quote, pieces[1:])])


def render(
    files: ModelFiles,
    name: str,
    directory: str,
    metadata: dict[str, Any],
    expected: dict[str, np.ndarray],
    dimension: int,
    *,
    warning: str | None = None,
) -> str:
    """The whole script; ``name`` and ``directory`` are already checked identifiers.

    ``warning`` (one line) heads the script as a comment: the DBA who runs it may never see our stderr.
    """
    external = f",\n    external_data_file_name => {quote(files.description.name)}" if files.description else ""
    lines = [
        *([f"-- WARNING: {warning}", "--"] if warning else []),
        f"-- embedpipe: load {files.model.name} into Oracle Database as {name}",
        f"-- {metadata.get('modelDescription', {})}",
        "--",
        f"-- 1. Copy {', '.join(p.name for p in files.all)} into the folder of directory object {directory}",
        "--    on the database server. A DBA creates the directory and grants once:",
        f"--      CREATE DIRECTORY {directory} AS '/path/on/the/server';",
        f"--      GRANT READ ON DIRECTORY {directory} TO <user>;",
        "--      GRANT CREATE MINING MODEL TO <user>;",
        "-- 2. Connect as <user>, the schema that will own the model, and run this script.",
        *(["--    External data needs Oracle AI Database 26ai (23.26.1 or later)."] if files.external else []),
        "",
        "WHENEVER SQLERROR EXIT FAILURE",
        "SET SERVEROUTPUT ON",
        "",
        "BEGIN",
        "  DBMS_VECTOR.LOAD_ONNX_MODEL(",
        f"    directory => {quote(directory)},",
        f"    file_name => {quote(files.model.name)},",
        f"    model_name => {quote(name)},",
        f"    metadata => JSON({quote(json.dumps(metadata, ensure_ascii=False))}){external});",
        "END;",
        "/",
        "",
        f"-- The model must be an EMBEDDING model whose output is VECTOR({dimension}, FLOAT32).",
        f"SELECT model_name, mining_function, algorithm FROM user_mining_models WHERE model_name = {quote(name)};",
        f"SELECT attribute_name, attribute_type, vector_info FROM user_mining_model_attributes WHERE model_name = {quote(name)};",
        "",
        f"-- Its vectors must be the local graph's (cosine distance at most {1 - MIN_COSINE:.4f}); a difference stops the script.",
        "DECLARE",
        "  distance NUMBER;",
        "BEGIN",
    ]
    for text, vector in expected.items():
        lines += [
            "  SELECT VECTOR_DISTANCE(",
            f"    VECTOR_EMBEDDING({name} USING {quote(text)} AS {SQL_ATTRIBUTE}),",
            f"    TO_VECTOR({_vector_literal(vector)}, {dimension}, FLOAT32),",
            "    COSINE) INTO distance FROM dual;",
            f"  IF distance > {1 - MIN_COSINE:.4f} THEN",
            f"    RAISE_APPLICATION_ERROR(-20001, {quote(f'{name} differs from the local graph on {text!r}: cosine distance ')} || distance);",
            "  END IF;",
        ]
    lines += [
        f"  DBMS_OUTPUT.PUT_LINE({quote(f'{name} verified: VECTOR_EMBEDDING({name} USING text AS {SQL_ATTRIBUTE})')});",
        "END;",
        "/",
    ]
    if files.external:
        lines += ["", "-- Share the external weights across sessions (once per model; see V$IM_ONNX_MODEL):", inmemory_call(name)]
    return "\n".join(lines) + "\n"
