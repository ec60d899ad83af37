"""Keep a model's weights on disk while it is built, so no step holds more of them in memory than it must.

A ``WeightFolder`` is a private temporary folder. Stages are moved into it as ONNX external data
(``externalize``); composition and checks then work on graph-only protos that merely reference
the tensors there. At the end a small model is made self-contained again (``internalize``), a
large one is handed to a sink together with the folder, and the sink streams the tensors into
the layout Oracle expects. That layout (file names, alignment, description) is defined here
once, as ``ExternalDataLayout``, for the sinks that write it and the Oracle plugin that loads it.
"""

from __future__ import annotations

import shutil
import tempfile
import weakref
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

import onnx
from onnx import TensorProto
from onnx.external_data_helper import ExternalDataInfo, load_external_data_for_model, set_external_data, uses_external_data

ALIGNMENT = 4096  # each tensor starts on a page boundary, so a runtime may map it directly
SMALLEST_EXTERNAL = 1024  # bytes; smaller tensors (shapes, scalars) stay in the graph
GRAPH_SUFFIX = ".onnx"
DATA_SUFFIX = ".dat"
DESCRIPTION_SUFFIX = "_external_data.json"  # appended to the graph file's whole name, as Oracle looks it up
DESCRIPTION_FORMAT = "embedpipe-external-data/2"


@dataclass(frozen=True)
class ExternalDataLayout:
    """The files of one external-data export, every name derived from the graph file's name.

    Oracle 26ai's ``DBMS_VECTOR.LOAD_ONNX_MODEL(directory, file_name, ...)`` expects the initializer
    description as ``<file_name>_external_data.json`` unless ``external_data_file_name`` names
    another file, ``file_name`` being the .onnx file's name: ``m.onnx`` comes with
    ``m.onnx_external_data.json`` (found by that default lookup) and its weights in ``m.dat``.
    """

    graph: str  # the .onnx file's name, no folder

    @classmethod
    def named(cls, name: str) -> ExternalDataLayout:
        """The layout of an export called ``name`` (the name ``export2file`` takes)."""
        return cls(f"{name}{GRAPH_SUFFIX}")

    @property
    def data(self) -> str:
        return f"{self.graph.removesuffix(GRAPH_SUFFIX)}{DATA_SUFFIX}"

    @property
    def description(self) -> str:
        return f"{self.graph}{DESCRIPTION_SUFFIX}"

    @property
    def files(self) -> tuple[str, str, str]:
        """Graph, data and description, in the order a DBA copies them."""
        return self.graph, self.data, self.description

    def describe(self, model: onnx.ModelProto) -> dict[str, Any]:
        """The description of ``model``'s external tensors, read from the graph's own references.

        Per initializer what Oracle documents (name, shape, offset, type, size in bytes), plus the
        data file it lives in; ``type`` is the ONNX name (``FLOAT``, ``FLOAT16``, ``INT8``, ...).
        """
        entries = []
        for tensor in initializers(model):
            if uses_external_data(tensor):
                info = ExternalDataInfo(tensor)
                entries.append(
                    {
                        "name": tensor.name,
                        "shape": list(tensor.dims),
                        "offset": info.offset or 0,
                        "type": TensorProto.DataType.Name(tensor.data_type),
                        "size": info.length,
                        "location": info.location,
                    }
                )
        files = sorted({entry["location"] for entry in entries})
        return {"format": DESCRIPTION_FORMAT, "model": self.graph, "data_files": files, "initializers": entries}


def pad_to_alignment(handle: BinaryIO) -> int:
    """Zero-fill ``handle`` up to the next ``ALIGNMENT`` boundary; the offset the next tensor starts at."""
    offset = -(-handle.tell() // ALIGNMENT) * ALIGNMENT
    handle.write(b"\0" * (offset - handle.tell()))
    return offset


def initializers(model: onnx.ModelProto) -> Iterator[TensorProto]:
    """Every initializer of the main graph (embedpipe stages keep weights there, not in subgraphs)."""
    yield from model.graph.initializer


def has_external_data(model: onnx.ModelProto) -> bool:
    return any(uses_external_data(t) for t in initializers(model))


def tensor_bytes(tensor: TensorProto) -> int:
    """The size of a tensor's data, wherever it lives."""
    if uses_external_data(tensor):
        return ExternalDataInfo(tensor).length
    return tensor.ByteSize()


def weight_bytes(model: onnx.ModelProto) -> int:
    """What the model's initializers weigh, in memory or on disk."""
    return sum(tensor_bytes(t) for t in initializers(model))


class WeightFolder:
    """A private temporary folder holding the external tensors of the models being built."""

    def __init__(self) -> None:
        self.path = Path(tempfile.mkdtemp(prefix="embedpipe-weights-"))
        self._remove = weakref.finalize(self, shutil.rmtree, self.path, ignore_errors=True)

    def externalize(self, model: onnx.ModelProto, location: str) -> onnx.ModelProto:
        """``model`` with every in-graph tensor of at least ``SMALLEST_EXTERNAL`` bytes appended to ``location``.

        Returns a fresh, graph-only proto: re-parsing drops the old message, so the weights it held
        are freed instead of lingering in protobuf's memory.
        """
        target = self.path / location
        with target.open("ab") as handle:
            for tensor in initializers(model):
                if uses_external_data(tensor) or not tensor.HasField("raw_data") or len(tensor.raw_data) < SMALLEST_EXTERNAL:
                    continue
                _append(handle, tensor, location, tensor.raw_data)
                tensor.ClearField("raw_data")
        return onnx.load_model_from_string(model.SerializeToString())

    def stream(self, tensors: Iterable[tuple[str, int, Sequence[int], memoryview]], location: str) -> list[TensorProto]:
        """Initializers for ``(name, data_type, dims, little-endian bytes)`` items, written one at a time.

        Each tensor of at least ``SMALLEST_EXTERNAL`` bytes is appended to ``location`` in the layout
        ``externalize`` writes (so only one tensor's bytes are ever in hand); smaller ones stay in the graph.
        """
        made = []
        with (self.path / location).open("ab") as handle:
            for name, data_type, dims, data in tensors:
                tensor = TensorProto(name=name, data_type=data_type, dims=list(dims))
                if data.nbytes < SMALLEST_EXTERNAL:
                    tensor.raw_data = bytes(data)
                else:
                    tensor.raw_data = b""  # set_external_data wants the field present; cleared right after
                    _append(handle, tensor, location, data)
                    tensor.ClearField("raw_data")
                made.append(tensor)
        return made

    def internalize(self, model: onnx.ModelProto) -> onnx.ModelProto:
        """``model`` made self-contained: every external tensor read back from this folder (in place)."""
        if has_external_data(model):
            load_external_data_for_model(model, str(self.path))
        return model

    def graph_file(self, model: onnx.ModelProto, stem: str) -> Path:
        """``model`` saved in this folder, beside the tensors it references, so ONNX Runtime can open it by path."""
        path = self.path / f"{stem}.onnx"
        path.write_bytes(model.SerializeToString())
        return path

    def cleanup(self) -> None:
        """Remove the folder now (it is removed anyway when this object is garbage-collected)."""
        self._remove()


def _append(handle: BinaryIO, tensor: TensorProto, location: str, data: bytes | memoryview) -> None:
    """Write ``data`` at the next aligned offset of ``handle`` and point ``tensor`` at it."""
    offset = pad_to_alignment(handle)
    handle.write(data)
    set_external_data(tensor, location, offset=offset, length=memoryview(data).nbytes)
    tensor.data_location = TensorProto.EXTERNAL
