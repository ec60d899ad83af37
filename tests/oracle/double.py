"""An in-process test double of the part of Oracle Database the sink touches.

It is reached through an oracledb-compatible connection (``cursor().execute``, ``createlob``, LOB
``write``) and enforces, independently of the sink's own checks, the rules Oracle documents:

- ``DBMS_VECTOR.LOAD_ONNX_MODEL`` (BLOB and directory variants; ``external_data_file_name`` only
  on 26ai, without it the description is read from ``<file_name>_external_data.json``, Oracle's
  documented default, which core's ``ExternalDataLayout`` spells), ``DBMS_VECTOR.DROP_ONNX_MODEL``, ``DBMS_DATA_MINING.RENAME_MODEL``;
- model names: a letter, then letters, digits, ``_ $ #``, at most 123, stored upper case;
- metadata: valid JSON, case-sensitive documented keys only, ``function`` embedding, regression
  or classification with only that function's keys (``embeddingOutput`` and the informational
  ones; ``regressionOutput``; ``classificationProbOutput`` and ``labels``, both required), an
  ``input`` entry per graph input (one for an embedding, the pair for a reranker, either for a
  classifier) naming a real graph input (ORA-54408), the output key naming a real float32 output,
  a classifier's labels as many as its output's columns, a reranker's output one wide;
- the graph: a string input (two variable dimensions: ORA-54426), a float32 output whose
  dimension is 1..65535 (ORA-51801), only the ops Oracle documents (standard ONNX, ai.onnx.ml,
  the five onnxruntime-extensions tokenizers; no com.microsoft op), in every subgraph too,
  loadable by ONNX Runtime with the extensions (ORA-13606), under the size limit, no external
  data in a BLOB;
- privileges (CREATE MINING MODEL, READ on a directory) and ``VECTOR_EMBEDDING``, ``PREDICTION``
  and ``PREDICTION_PROBABILITY`` name resolution in the user's schema (ORA-40284), each on a model
  of its function only (ORA-40290), with the model's attributes (ORA-00904); they run the stored
  graph with ONNX Runtime: a reranker's PREDICTION is its logit, a classifier's PREDICTION the
  label of its most probable class and PREDICTION_PROBABILITY that probability.

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
        "regressionOutput",
        "classificationProbOutput",
        "labels",
    }
)
# Each function's own keys; the others' are refused.
_FUNCTION_KEYS = {
    "embedding": _METADATA_KEYS - {"regressionOutput", "classificationProbOutput", "labels"},
    "regression": frozenset({"function", "input", "regressionOutput", "modelDescription", "defaultOnNull"}),
    "classification": frozenset({"function", "input", "classificationProbOutput", "labels", "modelDescription", "defaultOnNull"}),
}
_OUTPUT_KEYS = {"embedding": "embeddingOutput", "regression": "regressionOutput", "classification": "classificationProbOutput"}
_INPUT_COUNTS = {"embedding": {1}, "regression": {2}, "classification": {1, 2}}
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
_PREDICT = re.compile(
    r"^SELECT\s+(PREDICTION|PREDICTION_PROBABILITY)\(\s*(\w[\w$#]*)\s+USING\s+(.+?)\s*\)\s+FROM\s+dual$", re.IGNORECASE
)
_USING = re.compile(r"^:(\w+)\s+AS\s+(\w+)$", re.IGNORECASE)
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
    attributes: tuple[str, ...]  # one per graph input, in the metadata's order
    dimension: int  # the output's width: vector, 1 score, or one column per label
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
    score_tamper: Callable[[np.ndarray], np.ndarray] | None = None  # make PREDICTION(_PROBABILITY) disagree
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
        attributes, dimension = _check_graph(model, metadata)
        try:
            session = _open(path)
        except Exception as exc:
            raise ora(13606, f"error while loading the ONNX model: {str(exc).splitlines()[0][:200]}") from exc
        stored = StoredModel(name, path, metadata, attributes, dimension, bool(external), path.stat().st_size)
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
        model = self._model(identifier, lambda kind: kind == "embedding")
        vector = self._run(model, {attribute: text})
        if vector is None:
            return None
        if self.embedding_tamper is not None:
            vector = self.embedding_tamper(vector)
        return array.array("f", vector.tolist())

    def predict(self, function: str, identifier: str, texts: dict[str, Any]) -> float | str | None:
        """PREDICTION or PREDICTION_PROBABILITY of a reranker (its logit) or a classifier (label, probability)."""
        probability = function.upper() == "PREDICTION_PROBABILITY"
        self._inject(function)
        model = self._model(identifier, lambda kind: kind == "classification" or (kind == "regression" and not probability))
        row = self._run(model, texts)
        if row is None:
            return None
        if self.score_tamper is not None:
            row = self.score_tamper(row)
        if model.metadata["function"] == "regression":
            return float(row[0])
        return float(np.max(row)) if probability else str(model.metadata["labels"][int(np.argmax(row))])

    def _model(self, identifier: str, serves: Callable[[str], bool]) -> StoredModel:
        """The model the SQL function names, if it exists (ORA-40284) and ``serves`` its mining function (ORA-40290)."""
        name = identifier.upper()
        if name not in self.models:
            raise ora(40284, "model does not exist")
        if not serves(self.models[name].metadata["function"]):
            raise ora(40290, "model incompatible with data mining function")
        return self.models[name]

    def _run(self, model: StoredModel, texts: dict[str, Any]) -> np.ndarray | None:
        """The stored graph's output row for the texts given by attribute (NULL in, NULL out)."""
        given = {attribute.upper(): text for attribute, text in texts.items()}
        wrong = sorted(set(given) ^ set(model.attributes))
        if wrong:
            raise ora(904, f'"{wrong[0]}": invalid identifier')
        if any(text is None or text == "" for text in given.values()):  # Oracle's empty string is NULL
            return None
        if not all(isinstance(text, str) for text in given.values()):
            raise ora(932, "inconsistent datatypes: expected CHAR")
        inputs = dict(zip(model.attributes, model.metadata.get("input") or {"input": ["DATA"]}))
        feeds = {inputs[attribute]: np.array([text], dtype=object) for attribute, text in given.items()}
        output = model.metadata.get(_OUTPUT_KEYS[model.metadata["function"]]) or model.session().get_outputs()[0].name
        return model.session().run([output], feeds)[0].reshape(-1).astype(np.float32)

    def view(self, name: str) -> list[dict[str, Any]]:
        self._inject(name)
        if name == "USER_MINING_MODELS":
            return [
                {
                    "MODEL_NAME": m.name,
                    "MINING_FUNCTION": m.metadata["function"].upper(),
                    "ALGORITHM": "ONNX",
                    "MODEL_SIZE": m.size,
                    "EXTERNAL_DATA": "YES" if m.external else "NO",
                }
                for m in self.models.values()
            ]
        if name == "USER_MINING_MODEL_ATTRIBUTES":
            rows = []
            for m in self.models.values():
                rows += [
                    {
                        "MODEL_NAME": m.name,
                        "ATTRIBUTE_NAME": attribute,
                        "ATTRIBUTE_TYPE": "TEXT",
                        "DATA_TYPE": "VARCHAR2",
                        "VECTOR_INFO": None,
                    }
                    for attribute in m.attributes
                ]
                if m.metadata["function"] != "embedding":
                    continue
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
    function = metadata.get("function")
    if function not in _FUNCTION_KEYS:
        raise ora(20000, f'The "function" field in the JSON metadata must be one of {sorted(_FUNCTION_KEYS)}, got {function!r}.')
    foreign = sorted(set(metadata) - _FUNCTION_KEYS[function])
    if foreign:
        raise ora(20000, f"Invalid JSON metadata field(s) {foreign} for function {function}.")
    if function != "embedding" and _OUTPUT_KEYS[function] not in metadata:
        raise ora(20000, f'The "{_OUTPUT_KEYS[function]}" field is required in the JSON metadata for function {function}.')
    if function == "classification" and not (
        isinstance(metadata.get("labels"), list) and metadata["labels"] and all(isinstance(x, str) for x in metadata["labels"])
    ):
        raise ora(20000, 'The "labels" field in the JSON metadata must be a non-empty list of strings.')
    inputs = metadata.get("input")
    if inputs is not None or function != "embedding":
        if not isinstance(inputs, dict) or len(inputs) not in _INPUT_COUNTS[function]:
            counts = " or ".join(map(str, sorted(_INPUT_COUNTS[function])))
            raise ora(20000, f'The "input" field in the JSON metadata must map {counts} model input(s) for function {function}.')
        attributes = list(inputs.values())
        named = all(isinstance(a, list) and len(a) == 1 and isinstance(a[0], str) and _NAME.fullmatch(a[0]) for a in attributes)
        if not named or len({a[0].upper() for a in attributes}) != len(attributes):
            raise ora(20000, 'The "input" field must map each input to a list of one attribute name, a different one each.')
    checks: dict[str, Callable[[Any], bool]] = {
        "embeddingOutput": lambda v: isinstance(v, str),
        "regressionOutput": lambda v: isinstance(v, str),
        "classificationProbOutput": lambda v: isinstance(v, str),
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


def _check_graph(model: onnx.ModelProto, metadata: dict[str, Any]) -> tuple[tuple[str, ...], int]:
    """The SQL attribute names (one per input) and the output's width, or the error Oracle gives for the graph."""
    graph = model.graph
    initializers = {t.name for t in graph.initializer}
    real_inputs = {i.name: i for i in graph.input if i.name not in initializers}
    outputs = {o.name: o for o in graph.output}
    function = metadata["function"]
    mapping = metadata.get("input") or {"input": ["DATA"]}
    for input_name in mapping:
        if input_name not in real_inputs:
            raise ora(54408, f'The "input.{input_name}" field in the JSON metadata is not a model input.')
    if len(real_inputs) != len(mapping):
        if function == "embedding":
            raise ora(20000, f"Only one input attribute is allowed; the model has inputs {sorted(real_inputs)}.")
        raise ora(20000, f'The "input" field in the JSON metadata must map every model input {sorted(real_inputs)}.')
    for input_name in mapping:
        tensor = real_inputs[input_name].type.tensor_type
        variable = [d for d in tensor.shape.dim if not d.HasField("dim_value")]
        if len(variable) >= 2:
            raise ora(54426, f'Tensor "{input_name}" contains 2 batch dimensions.')
        if tensor.elem_type != onnx.TensorProto.STRING:
            raise ora(13606, f'error while loading the ONNX model: input "{input_name}" is not a string tensor (no tokenizer)')
    key = _OUTPUT_KEYS[function]
    output_name = metadata.get(key, "embedding")
    if output_name not in outputs:
        raise ora(20000, f'The "{key}" field in the JSON metadata ("{output_name}") is not a model output.')
    out = outputs[output_name].type.tensor_type
    if out.elem_type != onnx.TensorProto.FLOAT:
        raise ora(20000, f'The {function} output "{output_name}" must be float32.')
    last = out.shape.dim[-1] if out.shape.dim else None
    dimension = last.dim_value if last is not None and last.HasField("dim_value") else 0
    if function == "embedding" and not 1 <= dimension <= 65535:
        raise ora(51801, f"Vector dimension count must be between 1 and 65535 (got {dimension or 'a variable dimension'}).")
    if function == "regression" and dimension != 1:
        raise ora(20000, f'The regression output "{output_name}" must give one value, not {dimension or "a variable number"}.')
    if function == "classification" and dimension != len(metadata["labels"]):
        count = len(metadata["labels"])
        raise ora(20000, f'The "labels" field names {count} classes; the output "{output_name}" has {dimension}.')
    _check_ops(model)
    return tuple(attribute.upper() for (attribute,) in mapping.values()), dimension


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
        elif predict := _PREDICT.match(text):
            self.description = [(predict.group(1).upper(),)]
            texts = {}
            for part in predict.group(3).split(","):
                using = _USING.match(part.strip())
                if using is None:
                    raise BindPolicyError(f"USING {part.strip()!r}: pass each text as :bind AS ATTRIBUTE")
                texts[using.group(2)] = binds[using.group(1)]
            self._rows = [(server.predict(predict.group(1), predict.group(2), texts),)]
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
