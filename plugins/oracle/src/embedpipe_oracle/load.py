"""Load a graph file into Oracle Database: check everything locally, connect, install, report."""

from __future__ import annotations

import logging
import tempfile
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import onnx
import onnxruntime as ort
from embedpipe import contract
from embedpipe.runtime import open_session

from embedpipe_oracle.connection import ConnectionSettings, Prompt
from embedpipe_oracle.database import DEFAULT_CHUNK_BYTES, Database
from embedpipe_oracle.errors import OracleSinkError
from embedpipe_oracle.files import model_files
from embedpipe_oracle.install import install
from embedpipe_oracle.metadata import build_metadata, graph_facts
from embedpipe_oracle.names import check_directory_name, check_model_name
from embedpipe_oracle.ops import undocumented_ops_warning
from embedpipe_oracle.verify import PAIRS, SAMPLES, expected_rows

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class LoadResult:
    """What is live in the database now."""

    name: str
    dimension: int
    min_cosine: float | None  # an embedding's worst cosine
    replaced: bool
    metadata: dict[str, Any]
    inmemory_sql: str | None  # for external-data models: the call that shares the weights across sessions
    function: str
    max_difference: float | None  # a reranker's or classifier's worst score or probability difference

    @property
    def query(self) -> str:
        return sample_query(self.name, self.metadata)

    @property
    def checked(self) -> str:
        """What the database was shown to give, for the one-line report."""
        if self.min_cosine is not None:
            return f"VECTOR({self.dimension}, FLOAT32), verified in the database (min cosine {self.min_cosine:.6f})"
        return f"{self.function.upper()} model, verified in the database (max difference {self.max_difference:.2g})"


def sample_query(name: str, metadata: dict[str, Any]) -> str:
    """A query to try the model with, in the SQL its function takes (``name`` is a checked identifier)."""
    attributes = [attribute for (attribute,) in metadata["input"].values()]
    texts = PAIRS[0] if len(attributes) == 2 else (SAMPLES[0],)
    using = ", ".join(f"'{text}' AS {attribute}" for text, attribute in zip(texts, attributes))
    if metadata["function"] == contract.REGRESSION:
        return f"SELECT PREDICTION({name} USING {using}) AS score FROM dual"
    if metadata["function"] == contract.CLASSIFICATION:
        return f"SELECT PREDICTION({name} USING {using}) AS label, PREDICTION_PROBABILITY({name} USING {using}) AS probability FROM dual"
    return f"SELECT VECTOR_EMBEDDING({name} USING {using}) FROM dual"


def open_graph(path: Path) -> ort.InferenceSession:
    """The graph in ONNX Runtime with the extensions, as the database will run it; a refusal is one line."""
    try:
        return open_session(path)
    except Exception as exc:  # onnxruntime raises its own Fail/InvalidGraph/... types
        reason = str(exc).splitlines()[0][:300]
        raise OracleSinkError(
            f"ONNX Runtime cannot load {path.name} ({reason})", "load a graph `embedpipe inspect` and `embedpipe embed` accept"
        ) from exc


def inmemory_call(name: str) -> str:
    return f"EXEC DBMS_DATA_MINING.INMEMORY_ONNX_MODEL('{name}');"


def load_file(
    path: str | Path,
    name: str,
    *,
    connection: Any = None,
    replace: bool = False,
    directory: str | None = None,
    file_name: str | None = None,
    distance_metrics: Sequence[str] | None = None,
    languages: Sequence[str] | None = None,
    chunk_bytes: int = DEFAULT_CHUNK_BYTES,
    connect: Mapping[str, Any] | None = None,
    prompt: Prompt | None = None,
    warn: Callable[[str], None] = log.warning,
) -> LoadResult:
    """Load ``path`` as ``name`` (BLOB streamed from the file, or from the server ``directory``), then verify.

    ``connection`` is an open oracledb connection (left open); otherwise one is made from
    ``connect`` (dsn, user, password, config_dir, wallet_location, wallet_password), the
    EMBEDPIPE_ORACLE_* variables or ``prompt``, and closed afterwards. A graph using ops outside
    Oracle's documented set is reported through ``warn`` (default: this module's logger) before
    anything is sent, so the user reads why before the database's error.
    """
    name = check_model_name(name)
    directory = check_directory_name(directory) if directory is not None else None
    if chunk_bytes < 1:
        raise OracleSinkError(f"chunk_bytes is {chunk_bytes}", "pass a positive number of bytes per LOB write")
    files = model_files(Path(path))
    if files.external and directory is None:
        raise OracleSinkError(
            f"{files.model.name} keeps its weights in external data, which Oracle loads only from a server directory",
            f"copy {', '.join(p.name for p in files.all)} into a directory object's folder and pass --directory DIR (26ai)",
        )
    warning = undocumented_ops_warning(files.model)
    if warning:
        warn(warning)
    session = open_graph(files.model)
    facts = graph_facts(session)
    metadata = build_metadata(facts, distance_metrics=distance_metrics, languages=languages)
    expected = expected_rows(session, facts)
    del session

    def load(database: Database, target: str) -> None:
        if directory is None:
            database.load_blob(target, files.model, metadata, chunk_bytes=chunk_bytes)
        else:
            external = files.description.name if files.description else None
            database.load_from_directory(
                target, directory, file_name or files.model.name, metadata, external_data_file_name=external
            )

    owned = connection is None
    if owned:
        connection = ConnectionSettings.gather(connect or {}, prompt=prompt).connect()
    try:
        installed = install(Database(connection), name, load, replace=replace, expected=expected)
    finally:
        if owned:
            connection.close()
    return LoadResult(
        name=installed.name,
        dimension=installed.verification.dimension,
        min_cosine=installed.verification.min_cosine,
        replaced=installed.replaced,
        metadata=metadata,
        inmemory_sql=inmemory_call(name) if files.external else None,
        function=facts.function,
        max_difference=installed.verification.max_difference,
    )


def load_model(model: onnx.ModelProto, name: str, **options: Any) -> LoadResult:
    """Load an in-memory graph: serialized once to a temporary file, then streamed from it like any file.

    The file takes the model's name, so a warning about it names what the user asked to load.
    """
    with tempfile.TemporaryDirectory(prefix="embedpipe-oracle-") as folder:
        path = Path(folder) / f"{check_model_name(name)}.onnx"
        onnx.save_model(model, str(path))
        return load_file(path, name, **options)
