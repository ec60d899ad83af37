"""Oracle's error codes, as users meet them, turned into one line: what is wrong and what to do."""

from __future__ import annotations

import re
from collections.abc import Callable

from embedpipe.errors import ExportError

_CODE = re.compile(r"\b((?:ORA|PLS|DPY)-\d{4,5})\b")


class OracleSinkError(ExportError):
    """Loading into Oracle Database failed; nothing of the new model is left behind."""


class OracleConnectionError(OracleSinkError):
    """The database cannot be reached or refuses the credentials."""


class ModelExistsError(OracleSinkError):
    """A model of that name exists and replacing it was not asked for."""


class VerificationError(OracleSinkError):
    """The loaded model does not behave like the local graph."""


def error_code(exc: BaseException) -> str | None:
    """The first ORA-/PLS-/DPY- code of an oracledb error (the primary one; ORA-06512 lines follow it)."""
    detail = exc.args[0] if exc.args else exc
    code = getattr(detail, "full_code", None)
    if code:
        return str(code)
    found = _CODE.search(str(exc))
    return found.group(1) if found else None


def first_line(exc: BaseException) -> str:
    detail = exc.args[0] if exc.args else exc
    text = str(getattr(detail, "message", detail)).strip()
    return text.splitlines()[0] if text else type(exc).__name__


_CONNECTION_FIX = "check the DSN (host:port/service_name), that the listener runs, and EMBEDPIPE_ORACLE_DSN"
_PRIVILEGE_FIX = "ask a DBA for: GRANT CREATE MINING MODEL TO <user> (and READ ON DIRECTORY <dir> for a directory load)"

# code -> (problem template, fix); {model} and {oracle} (Oracle's own first line) are filled in.
_KNOWN: dict[str, tuple[str, str]] = {
    "ORA-54408": (
        "Oracle refused the metadata: its 'input' names a tensor the graph does not have ({oracle})",
        "load a graph embedpipe produced (input 'input', output 'embedding'), or fix the graph's input name",
    ),
    "ORA-54426": (
        "Oracle refused the graph: its input has two variable dimensions, so it takes token ids, not text ({oracle})",
        "convert the model with embedpipe so tokenization is inside the graph (string in, vector out)",
    ),
    "ORA-13606": (
        "Oracle could not load the graph ({oracle})",
        "run `embedpipe inspect FILE` (Oracle op rule) and `bash scripts/compat FILE`; a bare encoder without tokenizer is refused",
    ),
    "ORA-40284": (
        "Oracle has no model {model} in this schema ({oracle})",
        "VECTOR_EMBEDDING looks in the schema you connect as: connect as the model's owner, or load it there",
    ),
    "ORA-51801": (
        "Oracle refused the vector dimension ({oracle})",
        "the embedding must have 1 to 65535 dimensions: change the Dense layers or truncation",
    ),
    "ORA-20000": (
        "DBMS_VECTOR refused the call ({oracle})",
        "read Oracle's reason above; for metadata problems load a graph embedpipe produced with default metadata",
    ),
    "ORA-00955": ("a model named {model} already exists ({oracle})", "pass --replace (replace=True) to replace it without loss"),
    "ORA-01031": ("the database user lacks a privilege ({oracle})", _PRIVILEGE_FIX),
    "ORA-29289": (
        "the database user may not read that directory object ({oracle})",
        "ask a DBA for: GRANT READ ON DIRECTORY <dir> TO <user>",
    ),
    "ORA-22285": (
        "the directory object or file does not exist on the database server ({oracle})",
        "create it (CREATE DIRECTORY dm_dump AS '/path') and copy the .onnx (and .dat/.json) files into that folder",
    ),
    "ORA-22288": (
        "the database cannot open the model file in that directory ({oracle})",
        "copy the files into the directory object's folder on the database server and check the file name",
    ),
    "ORA-01017": (
        "the database refused the user name or password ({oracle})",
        "check EMBEDPIPE_ORACLE_USER and EMBEDPIPE_ORACLE_PASSWORD",
    ),
    "ORA-28000": ("the database account is locked ({oracle})", "ask a DBA to unlock it: ALTER USER <user> ACCOUNT UNLOCK"),
    "ORA-12514": ("the listener does not know that service ({oracle})", _CONNECTION_FIX),
    "ORA-12541": ("no listener at that address ({oracle})", _CONNECTION_FIX),
    "ORA-12154": ("the DSN or TNS alias cannot be resolved ({oracle})", _CONNECTION_FIX + " (or config_dir for tnsnames.ora)"),
    "DPY-6005": ("cannot connect to the database ({oracle})", _CONNECTION_FIX),
    "DPY-6000": ("the listener refused the connection ({oracle})", _CONNECTION_FIX),
    "DPY-4011": ("the database closed the connection ({oracle})", "check the database is up and reachable, then retry"),
    "DPY-4027": (
        "no configuration directory given for a TNS alias ({oracle})",
        "pass --config-dir (EMBEDPIPE_ORACLE_CONFIG_DIR) or a host:port/service DSN",
    ),
    "PLS-00201": (
        "this database has no DBMS_VECTOR package ({oracle})",
        "in-database ONNX embedding needs Oracle Database 23ai or later",
    ),
    "PLS-00306": (
        "this database's DBMS_VECTOR.LOAD_ONNX_MODEL does not take these arguments ({oracle})",
        "external-data models need Oracle AI Database 26ai (23.26.1 or later); on 23ai load a self-contained .onnx",
    ),
}


def explain(exc: BaseException, *, model: str = "", while_doing: str = "") -> OracleSinkError:
    """One OracleSinkError line for an oracledb error; connection codes become OracleConnectionError."""
    code = error_code(exc)
    oracle = first_line(exc)
    problem, fix = _KNOWN.get(
        code or "", ("Oracle Database refused the request ({oracle})", "look the code up in Oracle's error reference")
    )
    problem = problem.format(model=model, oracle=oracle)
    if while_doing:
        problem = f"{while_doing}: {problem}"
    kind: Callable[[str, str], OracleSinkError] = (
        OracleConnectionError if code in _CONNECTION_CODES else ModelExistsError if code == "ORA-00955" else OracleSinkError
    )
    return kind(problem, fix)


_CONNECTION_CODES = frozenset(
    {"ORA-01017", "ORA-28000", "ORA-12514", "ORA-12541", "ORA-12154", "DPY-6005", "DPY-6000", "DPY-4011", "DPY-4027"}
)
