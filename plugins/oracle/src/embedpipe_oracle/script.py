"""``embedpipe sql``: a SQL*Plus script a DBA runs after copying the files into a directory object.

The script loads with the directory variant of LOAD_ONNX_MODEL, then checks what the sink checks:
an EMBEDDING model, output VECTOR(D, FLOAT32), and the local graph's vectors (cosine distance at
most 1 - 0.9999, computed by the database with VECTOR_DISTANCE); for a reranker PREDICTION's
scores, for a classifier PREDICTION's labels and PREDICTION_PROBABILITY's probabilities (within
1e-4), and shows how to query them. A script has no bind variables, so every literal is either a
checked identifier or a quoted string with its quotes doubled.
"""

from __future__ import annotations

import json
from typing import Any

import numpy as np
from embedpipe import contract

from embedpipe_oracle.files import ModelFiles
from embedpipe_oracle.load import inmemory_call
from embedpipe_oracle.metadata import SQL_ATTRIBUTE
from embedpipe_oracle.verify import MAX_DIFFERENCE, MIN_COSINE, Expected, Sample

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
    expected: Expected,
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
    ]
    checks = {contract.REGRESSION: _score_checks, contract.CLASSIFICATION: _class_checks}
    lines += checks.get(expected.facts.function, _vector_checks)(name, expected)
    if files.external:
        lines += ["", "-- Share the external weights across sessions (once per model; see V$IM_ONNX_MODEL):", inmemory_call(name)]
    return "\n".join(lines) + "\n"


def _views(name: str) -> list[str]:
    return [
        f"SELECT model_name, mining_function, algorithm FROM user_mining_models WHERE model_name = {quote(name)};",
        f"SELECT attribute_name, attribute_type, vector_info FROM user_mining_model_attributes WHERE model_name = {quote(name)};",
        "",
    ]


def _vector_checks(name: str, expected: Expected) -> list[str]:
    """VECTOR_DISTANCE between the database's vector and the local one, per sample."""
    dimension = expected.facts.dimension
    lines = [
        f"-- The model must be an EMBEDDING model whose output is VECTOR({dimension}, FLOAT32).",
        *_views(name),
        f"-- Its vectors must be the local graph's (cosine distance at most {1 - MIN_COSINE:.4f}); a difference stops the script.",
        "DECLARE",
        "  distance NUMBER;",
        "BEGIN",
    ]
    for (text,), vector in expected.rows.items():
        lines += [
            "  SELECT VECTOR_DISTANCE(",
            f"    VECTOR_EMBEDDING({name} USING {quote(text)} AS {SQL_ATTRIBUTE}),",
            f"    TO_VECTOR({_vector_literal(vector)}, {dimension}, FLOAT32),",
            "    COSINE) INTO distance FROM dual;",
            f"  IF distance > {1 - MIN_COSINE:.4f} THEN",
            f"    RAISE_APPLICATION_ERROR(-20001, {quote(f'{name} differs from the local graph on {text!r}: cosine distance ')} || distance);",
            "  END IF;",
        ]
    return [
        *lines,
        f"  DBMS_OUTPUT.PUT_LINE({quote(f'{name} verified: VECTOR_EMBEDDING({name} USING text AS {SQL_ATTRIBUTE})')});",
        "END;",
        "/",
    ]


def _score_checks(name: str, expected: Expected) -> list[str]:
    """PREDICTION per sample pair against the local logit, then the two-stage search it serves."""
    lines = [
        "-- The model must be a REGRESSION model with attributes DATA1 (the query) and DATA2 (the passage).",
        *_views(name),
        f"-- Its scores must be the local graph's (difference at most {MAX_DIFFERENCE:g}, relative above 1);",
        "-- a difference stops the script.",
        "DECLARE",
        "  score NUMBER;",
        "BEGIN",
    ]
    for sample, row in expected.rows.items():
        want = _number(row[0])
        lines += [
            f"  SELECT PREDICTION({name} USING {_using(expected, sample)}) INTO score FROM dual;",
            f"  IF score IS NULL OR ABS(score - ({want})) > {MAX_DIFFERENCE:g} * GREATEST(1, ABS({want})) THEN",
            f"    RAISE_APPLICATION_ERROR(-20001, {_differs(name, sample)} || score);",
            "  END IF;",
        ]
    return [
        *lines,
        f"  DBMS_OUTPUT.PUT_LINE({quote(f'{name} verified: PREDICTION({name} USING query AS DATA1, passage AS DATA2)')});",
        "END;",
        "/",
        "",
        "-- Two-stage search: the 20 nearest rows by an embedding model (EMBED_MODEL, loaded with `embedpipe load`),",
        f"-- reranked by {name}; DOCS(id, text, embedding) stands for your table:",
        f"--   SELECT id, text, PREDICTION({name} USING :query AS DATA1, text AS DATA2) AS score",
        "--     FROM (SELECT id, text FROM docs",
        "--           ORDER BY VECTOR_DISTANCE(embedding, VECTOR_EMBEDDING(EMBED_MODEL USING :query AS DATA), COSINE)",
        "--           FETCH FIRST 20 ROWS ONLY)",
        "--    ORDER BY score DESC FETCH FIRST 5 ROWS ONLY;",
    ]


def _class_checks(name: str, expected: Expected) -> list[str]:
    """PREDICTION (the local argmax label) and PREDICTION_PROBABILITY (its probability) per sample."""
    attributes = list(expected.facts.attributes.values())
    lines = [
        f"-- The model must be a CLASSIFICATION model with attribute(s) {', '.join(attributes)}",
        f"-- and labels {', '.join(expected.facts.labels)}.",
        *_views(name),
        f"-- Its labels must be the local graph's, their probabilities within {MAX_DIFFERENCE:g}; a difference stops the script.",
        "DECLARE",
        "  label VARCHAR2(4000);",
        "  probability NUMBER;",
        "BEGIN",
    ]
    for sample, row in expected.rows.items():
        using, want = _using(expected, sample), _number(np.max(row))
        lines += [
            f"  SELECT PREDICTION({name} USING {using}), PREDICTION_PROBABILITY({name} USING {using})",
            "    INTO label, probability FROM dual;",
            f"  IF label IS NULL OR label <> {quote(expected.label(row))}",
            f"     OR probability IS NULL OR ABS(probability - {want}) > {MAX_DIFFERENCE:g} THEN",
            f"    RAISE_APPLICATION_ERROR(-20001, {_differs(name, sample)} || label || ' ' || probability);",
            "  END IF;",
        ]
    pair = len(attributes) == 2
    columns = ", ".join(f"text{i + 1} AS {a}" for i, a in enumerate(attributes)) if pair else f"text AS {SQL_ATTRIBUTE}"
    return [
        *lines,
        f"  DBMS_OUTPUT.PUT_LINE({quote(f'{name} verified: PREDICTION and PREDICTION_PROBABILITY({name} USING {columns})')});",
        "END;",
        "/",
        "",
        "-- Label each row of your table DOCS and keep the probability:",
        f"--   SELECT id, PREDICTION({name} USING {columns}) AS label,",
        f"--          PREDICTION_PROBABILITY({name} USING {columns}) AS probability",
        "--     FROM docs;",
    ]


def _using(expected: Expected, sample: Sample) -> str:
    """The USING list of one sample: its texts as literals under their attributes."""
    return ", ".join(f"{quote(text)} AS {attribute}" for text, attribute in zip(sample, expected.facts.attributes.values()))


def _differs(name: str, sample: Sample) -> str:
    """The start of the error message for a sample the database answers differently."""
    return quote(f"{name} differs from the local graph on {sample!r}: ")


def _number(value: float) -> str:
    """A float as a SQL numeric literal, exact to float32's precision and then some."""
    return f"{float(value):.9g}"
