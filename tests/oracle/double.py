"""An in-process test double of the part of Oracle Database the sink touches.

It is reached through an oracledb-compatible connection (``cursor().execute``, ``createlob``, LOB
``write``) and enforces, independently of the sink's own checks, the rules Oracle documents:

- ``DBMS_VECTOR.LOAD_ONNX_MODEL`` (BLOB and directory variants; ``external_data_file_name`` only
  on 26ai, without it the description is read from ``<file_name>_external_data.json``, Oracle's
  documented default, which core's ``ExternalDataLayout`` spells), ``DBMS_VECTOR.DROP_ONNX_MODEL``, ``DBMS_DATA_MINING.RENAME_MODEL``;
- model names: a letter, then letters, digits, ``_ $ #``, at most 123, stored upper case;
- metadata: valid JSON, case-sensitive documented keys only, ``function`` = embedding, one
  ``input`` entry naming a real graph input (ORA-54408), ``embeddingOutput`` naming a real
  output, informational keys of the documented types;
- the graph: a string input (two variable dimensions: ORA-54426), a float32 output whose
  dimension is 1..65535 (ORA-51801), only the ops Oracle documents (standard ONNX, ai.onnx.ml,
  the five onnxruntime-extensions tokenizers; no com.microsoft op), in every subgraph too,
  loadable by ONNX Runtime with the extensions (ORA-13606), under the size limit, no external
  data in a BLOB;
- privileges (CREATE MINING MODEL, READ on a directory) and ``VECTOR_EMBEDDING`` name resolution
  in the user's schema (ORA-40284).

Where Oracle's documentation gives no error number for a rule, the double raises ORA-20000 (the
number DBMS_VECTOR uses for rejected arguments) with the rule in the message.

Two things are stricter than Oracle on purpose, because they are requirements on the sink: every
name and value must be a bind variable (``BindPolicyError``), and ``model_data`` must be a
temporary LOB written through ``createlob`` (not a bytes object copied whole into memory).
"""

from __future__ import annotations

import array
import json
import re
import tempfile
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import onnx
import onnxruntime as ort
import oracledb
from embedpipe.weights import ExternalDataLayout
from onnx.external_data_helper import ExternalDataInfo, uses_external_data
from onnxruntime_extensions import get_library_path
from oracledb.errors import _Error

GIB = 1 << 30
_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_$#]{0,122}")
_METADATA_KEYS = frozenset(
    {
        "function",
        "embeddingOutput",
        "input",
        "normalization",
        "maxSequenceLength",
        "pooling",
        "suitableDistanceMetrics",
        "languages",
        "tokenizer",
        "modelDescription",
        "embeddingLayer",
        "defaultOnNull",
    }
)
_TOKENIZERS = frozenset({"bert", "gpt2", "bpe", "wordpiece", "sentencepiece", "clip"})
_METRICS = frozenset({"COSINE", "DOT", "EUCLIDEAN", "EUCLIDEAN_SQUARED", "MANHATTAN", "HAMMING", "JACCARD"})
# What Oracle documents: standard ONNX, ai.onnx.ml, and of the custom ops only these tokenizers.
_DOCUMENTED_DOMAINS = frozenset({"", "ai.onnx", "ai.onnx.ml"})
_TOKENIZER_DOMAIN = "ai.onnx.contrib"
_TOKENIZER_OPS = frozenset({"BertTokenizer", "GPT2Tokenizer", "RobertaTokenizer", "SentencepieceTokenizer", "CLIPTokenizer"})
_CALL = re.compile(r"^BEGIN\s+([A-Z_$#.]+)\s*\((.*)\)\s*;\s*END\s*;?$", re.IGNORECASE | re.DOTALL)
_ARGUMENT = re.compile(r"^(\w+)\s*=>\s*(.+)$", re.DOTALL)
_EMBED = re.compile(
    r"^SELECT\s+VECTOR_EMBEDDING\(\s*(\w[\w$#]*)\s+USING\s+:(\w+)\s+AS\s+(\w+)\s*\)\s+FROM\s+dual$", re.IGNORECASE
)
_SELECT = re.compile(r"^SELECT\s+(.+?)\s+FROM\s+(\w+)\s+WHERE\s+(.+)$", re.IGNORECASE | re.DOTALL)
_CONDITION = re.compile(r"^(\w+)\s*=\s*:(\w+)$")
_BIND = re.compile(r":(\w+)")
_VIEW_COLUMNS = {
    "USER_MINING_MODELS": ("MODEL_NAME", "MINING_FUNCTION", "ALGORITHM", "MODEL_SIZE", "EXTERNAL_DATA"),
    "USER_MINING_MODEL_ATTRIBUTES": ("MODEL_NAME", "ATTRIBUTE_NAME", "ATTRIBUTE_TYPE", "DATA_TYPE", "VECTOR_INFO"),
}


class BindPolicyError(AssertionError):
    """The sink sent a literal where it must send a bind variable, or a bytes copy instead of a LOB."""


def ora(code: int, message: str, prefix: str = "ORA") -> oracledb.DatabaseError:
    """An error shaped exactly as python-oracledb raises it."""
    return oracledb.DatabaseError(_Error(f"{prefix}-{code:05d}: {message}", code=code))


@dataclass
class StoredModel:
    name: str
    model_path: Path  # the .onnx as the server holds it (external data beside it)
    metadata: dict[str, Any]
    attribute: str
    dimension: int
    external: bool
    size: int
    _session: ort.InferenceSession | None = None

    def session(self) -> ort.InferenceSession:
        if self._session is None:
            self._session = _open(self.model_path)
        return self._session


@dataclass
class Injection:
    """Fail the ``nth`` call of ``target`` (a procedure like DBMS_DATA_MINING.RENAME_MODEL, or VECTOR_EMBEDDING)."""

    target: str
    nth: int
    error: Exception
    seen: int = 0


@dataclass
class OracleDouble:
    """The database: its models, directory objects, the user's privileges and a record of calls."""

    flavour: str = "26ai"  # "23ai" lacks external data and external_data_file_name
    size_limit: int = GIB
    privileges: set[str] = field(default_factory=lambda: {"CREATE MINING MODEL"})
    models: dict[str, StoredModel] = field(default_factory=dict)
    directories: dict[str, tuple[Path, bool]] = field(default_factory=dict)  # NAME -> (folder, READ granted)
    calls: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    lob_writes: list[int] = field(default_factory=list)  # the size of every LOB write, in order
    injections: list[Injection] = field(default_factory=list)
    embedding_tamper: Callable[[np.ndarray], np.ndarray] | None = None  # make VECTOR_EMBEDDING disagree
    storage: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="oracle-double-")))

    def connect(self, **_: Any) -> DoubleConnection:
        return DoubleConnection(self)

    def create_directory(self, name: str, folder: Path, *, read: bool = True) -> None:
        self.directories[name.upper()] = (Path(folder), read)

    def fail(self, target: str, error: Exception, *, nth: int = 1) -> None:
        self.injections.append(Injection(target.upper(), nth, error))

    def procedures(self) -> list[str]:
        return [name for name, _ in self.calls]

    # -- dispatch --------------------------------------------------------------------------
    def _inject(self, target: str) -> None:
        due = []
        for injection in self.injections:
            if injection.target == target.upper():
                injection.seen += 1
                if injection.seen == injection.nth:
                    due.append(injection.error)
        if due:
            raise due[0]

    def call(self, procedure: str, arguments: dict[str, Any]) -> None:
        procedure = procedure.upper()
        self.calls.append((procedure, arguments))
        self._inject(procedure)
        handlers = {
            "DBMS_VECTOR.LOAD_ONNX_MODEL": self._load,
            "DBMS_VECTOR.DROP_ONNX_MODEL": self._drop,
            "DBMS_DATA_MINING.RENAME_MODEL": self._rename,
        }
        if procedure not in handlers:
            raise ora(201, f"identifier '{procedure}' must be declared", "PLS")
        handlers[procedure](arguments)

    # -- procedures ------------------------------------------------------------------------
    def _load(self, args: dict[str, Any]) -> None:
        if "model_data" in args:
            _expect_arguments(args, {"model_name", "model_data", "metadata"}, set())
            lob = args["model_data"]
            if not isinstance(lob, DoubleLob):
                raise BindPolicyError(f"model_data is a {type(lob).__name__}; the sink must stream into a temporary LOB")
            name = self._new_name(args["model_name"])
            metadata = _metadata(args["metadata"])
            if lob.size() > self.size_limit:
                raise ora(20000, f"The model size {lob.size()} exceeds the maximum of {self.size_limit} bytes.")
            folder = self.storage / f"{name}.{len(self.calls)}"
            folder.mkdir()
            path = folder / "model.onnx"
            path.write_bytes(lob.read())
            self._store(name, path, metadata, allow_external=False)
            return
        optional = {"external_data_file_name"} if self.flavour == "26ai" else set()
        _expect_arguments(args, {"directory", "file_name", "model_name", "metadata"}, optional)
        directory = str(args["directory"]).upper()
        if directory not in self.directories:
            raise ora(22285, f"non-existent directory or file for FILEOPEN operation ({directory})")
        folder, readable = self.directories[directory]
        if not readable:
            raise ora(29289, "directory access denied")
        path = folder / str(args["file_name"])
        if not path.is_file():
            raise ora(22288, f"file or LOB operation FILEOPEN failed: {args['file_name']} not found")
        name = self._new_name(args["model_name"])
        metadata = _metadata(args["metadata"])
        if path.stat().st_size > self.size_limit:
            raise ora(20000, f"The model size exceeds the maximum of {self.size_limit} bytes.")
        description = args.get("external_data_file_name") or ExternalDataLayout(path.name).description
        self._store(name, path, metadata, allow_external=self.flavour == "26ai", description=folder / description)

    def _store(
        self, name: str, path: Path, metadata: dict[str, Any], *, allow_external: bool, description: Path | None = None
    ) -> None:
        try:
            model = onnx.load(str(path), load_external_data=False)
        except Exception as exc:
            raise ora(13606, f"error while loading the ONNX model: {type(exc).__name__}") from exc
        external = [t for t in model.graph.initializer if uses_external_data(t)]
        if external:
            if not allow_external:
                raise ora(20000, "The model must not depend on external initializers.")
            if description is None or not description.is_file():
                raise ora(22288, f"file or LOB operation FILEOPEN failed: {description.name if description else '?'} not found")
            json.loads(description.read_text(encoding="utf-8"))  # the initializer description must be JSON
            for location in {ExternalDataInfo(t).location for t in external}:
                if not (path.parent / location).is_file():
                    raise ora(22288, f"file or LOB operation FILEOPEN failed: {location} not found")
        attribute, dimension = _check_graph(model, metadata)
        try:
            session = _open(path)
        except Exception as exc:
            raise ora(13606, f"error while loading the ONNX model: {str(exc).splitlines()[0][:200]}") from exc
        stored = StoredModel(name, path, metadata, attribute, dimension, bool(external), path.stat().st_size)
        stored._session = session
        self.models[name] = stored

    def _new_name(self, value: Any) -> str:
        if "CREATE MINING MODEL" not in self.privileges:
            raise ora(1031, "insufficient privileges")
        name = _model_name(value)
        if name in self.models:
            raise ora(955, "name is already used by an existing object")
        return name

    def _drop(self, args: dict[str, Any]) -> None:
        _expect_arguments(args, {"model_name"}, {"force"})
        name = _model_name(args["model_name"])
        if name not in self.models:
            if args.get("force") is True:
                return
            raise ora(40284, "model does not exist")
        del self.models[name]

    def _rename(self, args: dict[str, Any]) -> None:
        _expect_arguments(args, {"model_name", "new_model_name"}, set())
        old = _model_name(args["model_name"])
        if old not in self.models:
            raise ora(40284, "model does not exist")
        new = self._new_name(args["new_model_name"])
        model = self.models.pop(old)
        model.name = new
        self.models[new] = model

    # -- queries ---------------------------------------------------------------------------
    def embed(self, identifier: str, attribute: str, text: Any) -> array.array | None:
        self._inject("VECTOR_EMBEDDING")
        name = identifier.upper()
        if name not in self.models:
            raise ora(40284, "model does not exist")
        model = self.models[name]
        if attribute.upper() != model.attribute:
            raise ora(904, f'"{attribute.upper()}": invalid identifier')
        if text is None or text == "":  # Oracle's empty string is NULL
            return None
        if not isinstance(text, str):
            raise ora(932, "inconsistent datatypes: expected CHAR")
        session = model.session()
        input_name = next(iter(model.metadata["input"]))
        output_name = model.metadata.get("embeddingOutput") or session.get_outputs()[0].name
        vector = session.run([output_name], {input_name: np.array([text], dtype=object)})[0].reshape(-1).astype(np.float32)
        if self.embedding_tamper is not None:
            vector = self.embedding_tamper(vector)
        return array.array("f", vector.tolist())

    def view(self, name: str) -> list[dict[str, Any]]:
        self._inject(name)
        if name == "USER_MINING_MODELS":
            return [
                {
                    "MODEL_NAME": m.name,
                    "MINING_FUNCTION": "EMBEDDING",
                    "ALGORITHM": "ONNX",
                    "MODEL_SIZE": m.size,
                    "EXTERNAL_DATA": "YES" if m.external else "NO",
                }
                for m in self.models.values()
            ]
        if name == "USER_MINING_MODEL_ATTRIBUTES":
            rows = []
            for m in self.models.values():
                rows.append(
                    {
                        "MODEL_NAME": m.name,
                        "ATTRIBUTE_NAME": m.attribute,
                        "ATTRIBUTE_TYPE": "TEXT",
                        "DATA_TYPE": "VARCHAR2",
                        "VECTOR_INFO": None,
                    }
                )
                rows.append(
                    {
                        "MODEL_NAME": m.name,
                        "ATTRIBUTE_NAME": "ORA$ONNXTARGET",
                        "ATTRIBUTE_TYPE": "VECTOR",
                        "DATA_TYPE": "VECTOR",
                        "VECTOR_INFO": f"VECTOR({m.dimension},FLOAT32)",
                    }
                )
            return rows
        raise ora(942, "table or view does not exist")


# -- the rules -----------------------------------------------------------------------------
def _open(path: Path) -> ort.InferenceSession:
    options = ort.SessionOptions()
    options.register_custom_ops_library(get_library_path())
    options.intra_op_num_threads = 1
    return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


def _model_name(value: Any) -> str:
    if not isinstance(value, str) or not _NAME.fullmatch(value):
        raise ora(20000, f"Invalid model name {value!r}: a letter first, then letters, digits, _ $ #, at most 123 characters.")
    return value.upper()


def _expect_arguments(args: dict[str, Any], required: set[str], optional: set[str]) -> None:
    given = set(args)
    if not required <= given or not given <= required | optional:
        raise ora(306, "wrong number or types of arguments in call to 'LOAD_ONNX_MODEL'", "PLS")


def _metadata(value: Any) -> dict[str, Any]:
    try:
        metadata = json.loads(value)
    except (TypeError, ValueError) as exc:
        raise ora(40441, "JSON syntax error") from exc
    if not isinstance(metadata, dict):
        raise ora(20000, "The JSON metadata must be an object.")
    unknown = sorted(set(metadata) - _METADATA_KEYS)
    if unknown:
        raise ora(20000, f"Invalid JSON metadata field(s) {unknown} (keys are case-sensitive).")
    if metadata.get("function") != "embedding":
        raise ora(20000, f'The "function" field in the JSON metadata must be "embedding", got {metadata.get("function")!r}.')
    inputs = metadata.get("input")
    if inputs is not None:
        if not isinstance(inputs, dict) or len(inputs) != 1:
            raise ora(20000, 'The "input" field in the JSON metadata must map exactly one model input.')
        attribute = next(iter(inputs.values()))
        if not (
            isinstance(attribute, list)
            and len(attribute) == 1
            and isinstance(attribute[0], str)
            and _NAME.fullmatch(attribute[0])
        ):
            raise ora(20000, 'The "input" field must map the input to a list of one attribute name.')
    checks: dict[str, Callable[[Any], bool]] = {
        "embeddingOutput": lambda v: isinstance(v, str),
        "normalization": lambda v: isinstance(v, bool),
        "maxSequenceLength": lambda v: isinstance(v, int) and not isinstance(v, bool) and v > 0,
        "pooling": lambda v: isinstance(v, str),
        "suitableDistanceMetrics": lambda v: isinstance(v, list) and all(m in _METRICS for m in v),
        "languages": lambda v: isinstance(v, list) and all(isinstance(x, str) for x in v),
        "tokenizer": lambda v: v in _TOKENIZERS,
        "modelDescription": lambda v: isinstance(v, dict),
    }
    for key, valid in checks.items():
        if key in metadata and not valid(metadata[key]):
            raise ora(20000, f'Invalid value {metadata[key]!r} for the "{key}" field in the JSON metadata.')
    return metadata


def _check_graph(model: onnx.ModelProto, metadata: dict[str, Any]) -> tuple[str, int]:
    """The SQL attribute name and the vector dimension, or the error Oracle gives for the graph."""
    graph = model.graph
    initializers = {t.name for t in graph.initializer}
    real_inputs = {i.name: i for i in graph.input if i.name not in initializers}
    outputs = {o.name: o for o in graph.output}
    mapping = metadata.get("input") or {"input": ["DATA"]}
    input_name, (attribute,) = next(iter(mapping.items()))
    if input_name not in real_inputs:
        raise ora(54408, f'The "input.{input_name}" field in the JSON metadata is not a model input.')
    if len(real_inputs) != 1:
        raise ora(20000, f"Only one input attribute is allowed; the model has inputs {sorted(real_inputs)}.")
    tensor = real_inputs[input_name].type.tensor_type
    variable = [d for d in tensor.shape.dim if not d.HasField("dim_value")]
    if len(variable) >= 2:
        raise ora(54426, f'Tensor "{input_name}" contains 2 batch dimensions.')
    if tensor.elem_type != onnx.TensorProto.STRING:
        raise ora(
            13606, f'error while loading the ONNX model: input "{input_name}" is not a string tensor (no tokenizer in the graph)'
        )
    output_name = metadata.get("embeddingOutput", "embedding")
    if output_name not in outputs:
        raise ora(20000, f'The "embeddingOutput" field in the JSON metadata ("{output_name}") is not a model output.')
    out = outputs[output_name].type.tensor_type
    if out.elem_type != onnx.TensorProto.FLOAT:
        raise ora(20000, f'The embedding output "{output_name}" must be float32.')
    last = out.shape.dim[-1] if out.shape.dim else None
    dimension = last.dim_value if last is not None and last.HasField("dim_value") else 0
    if not 1 <= dimension <= 65535:
        raise ora(51801, f"Vector dimension count must be between 1 and 65535 (got {dimension or 'a variable dimension'}).")
    _check_ops(model)
    return attribute.upper(), dimension


def _check_ops(model: onnx.ModelProto) -> None:
    """ORA-13606 for the first node, at any depth, that is neither documented nor a call of the model's own function."""
    local = {(function.domain, function.name) for function in model.functions}
    bodies = [model.graph.node, *(function.node for function in model.functions)]
    for node in (node for nodes in bodies for node in _every_node(nodes)):
        documented = node.domain in _DOCUMENTED_DOMAINS or (
            node.domain == _TOKENIZER_DOMAIN and node.op_type in _TOKENIZER_OPS
        )
        if not documented and (node.domain, node.op_type) not in local:
            raise ora(13606, f"error while loading the ONNX model: custom operator {node.domain}:{node.op_type} is not supported")


def _every_node(nodes: Iterable[onnx.NodeProto]) -> Iterator[onnx.NodeProto]:
    """The nodes and those of the subgraphs they hold (Loop, If, Scan bodies), at any depth: Oracle loads them all."""
    for node in nodes:
        yield node
        for attribute in node.attribute:
            for subgraph in [attribute.g] if attribute.type == onnx.AttributeProto.GRAPH else attribute.graphs:
                yield from _every_node(subgraph.node)


# -- the python-oracledb surface -----------------------------------------------------------
class DoubleLob:
    """A temporary BLOB, kept in a file as the server would, so its bytes are not in the client's memory."""

    def __init__(self, server: OracleDouble) -> None:
        self._server = server
        self._file = tempfile.TemporaryFile(dir=server.storage)  # noqa: SIM115 - lives as long as the LOB

    def write(self, data: bytes, offset: int = 1) -> None:
        if not isinstance(data, bytes | bytearray | memoryview):
            raise TypeError("BLOB data must be bytes")
        self._server.lob_writes.append(len(data))
        self._file.seek(offset - 1)  # past the end: Oracle fills the gap with zero bytes, as the file does
        self._file.write(data)

    def size(self) -> int:
        self._file.seek(0, 2)
        return self._file.tell()

    def read(self, offset: int = 1, amount: int | None = None) -> bytes:
        self._file.seek(offset - 1)
        return self._file.read() if amount is None else self._file.read(amount)

    def getchunksize(self) -> int:
        return 32600  # what Oracle reports for a temporary LOB


class DoubleCursor:
    def __init__(self, connection: DoubleConnection) -> None:
        self.connection = connection
        self.description: list[tuple[str, ...]] | None = None
        self._rows: list[tuple[Any, ...]] = []

    def __enter__(self) -> DoubleCursor:  # noqa: PYI034 - the double has no subclasses
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._rows = []

    def execute(self, statement: str, parameters: dict[str, Any] | None = None, **keyword: Any) -> None:
        self.connection.check_open()
        binds = {**(parameters or {}), **keyword}
        wanted = set(_BIND.findall(statement))
        if wanted != set(binds):
            raise ora(1008, f"not all variables bound (placeholders {sorted(wanted)}, binds {sorted(binds)})")
        server = self.connection.server
        text = " ".join(statement.split())
        self.description, self._rows = None, []
        if call := _CALL.match(text):
            server.call(call.group(1), _arguments(call.group(2), binds))
        elif embed := _EMBED.match(text):
            self.description = [("VECTOR_EMBEDDING",)]
            self._rows = [(server.embed(embed.group(1), embed.group(3), binds[embed.group(2)]),)]
        elif select := _SELECT.match(text):
            self._select(select, binds)
        else:
            raise ora(900, f"invalid SQL statement (the double does not know: {text[:80]})")

    def _select(self, select: re.Match[str], binds: dict[str, Any]) -> None:
        columns = [c.strip().upper() for c in select.group(1).split(",")]
        rows = self.connection.server.view(select.group(2).upper())
        conditions = []
        for part in re.split(r"\s+AND\s+", select.group(3), flags=re.IGNORECASE):
            condition = _CONDITION.match(part.strip())
            if condition is None:
                raise BindPolicyError(f"WHERE {part!r}: compare columns with bind variables only")
            conditions.append((condition.group(1).upper(), binds[condition.group(2)]))
        known = set(_VIEW_COLUMNS[select.group(2).upper()])
        for column in columns + [c for c, _ in conditions]:
            if column not in known:
                raise ora(904, f'"{column}": invalid identifier')
        chosen = [r for r in rows if all(r[c] == v for c, v in conditions)]
        self.description = [(c,) for c in columns]
        self._rows = [tuple(r[c] for c in columns) for r in chosen]

    def fetchall(self) -> list[tuple[Any, ...]]:
        rows, self._rows = self._rows, []
        return rows

    def fetchone(self) -> tuple[Any, ...] | None:
        return self._rows.pop(0) if self._rows else None


def _arguments(text: str, binds: dict[str, Any]) -> dict[str, Any]:
    """Named arguments of a PL/SQL call; each value must be a bind (JSON(:bind) for JSON) or TRUE/FALSE."""
    values: dict[str, Any] = {}
    for part in (p.strip() for p in text.split(",")):
        argument = _ARGUMENT.match(part)
        if argument is None:
            raise BindPolicyError(f"positional or malformed argument {part!r}: use name => :bind")
        name, value = argument.group(1).lower(), argument.group(2).strip()
        if plain := re.fullmatch(r":(\w+)", value):
            values[name] = binds[plain.group(1)]
        elif wrapped := re.fullmatch(r"JSON\(\s*:(\w+)\s*\)", value, re.IGNORECASE):
            values[name] = binds[wrapped.group(1)]
        elif value.upper() in {"TRUE", "FALSE"}:
            values[name] = value.upper() == "TRUE"
        else:
            raise BindPolicyError(f"{name} => {value}: a literal where a bind variable belongs")
    return values


class DoubleConnection:
    """What ``oracledb.connect`` returns, as far as the sink uses it."""

    def __init__(self, server: OracleDouble) -> None:
        self.server = server
        self.closed = False

    def check_open(self) -> None:
        if self.closed:
            raise oracledb.InterfaceError(_Error("DPY-1001: not connected to database"))

    def cursor(self) -> DoubleCursor:
        self.check_open()
        return DoubleCursor(self)

    def createlob(self, lob_type: Any) -> DoubleLob:
        self.check_open()
        if lob_type is not oracledb.DB_TYPE_BLOB:
            raise TypeError("the double only makes BLOBs")
        return DoubleLob(self.server)

    def commit(self) -> None:
        self.check_open()

    def close(self) -> None:
        self.check_open()
        self.closed = True
