"""Keep a model's weights on disk while it is built, so no step holds more of them in memory than it must.

A ``WeightFolder`` is a private temporary folder. Stages are moved into it as ONNX external data
(``externalize``); composition and checks then work on graph-only protos that merely reference
the tensors there. At the end a small model is made self-contained again (``internalize``), a
large one is handed to a sink together with the folder, and the sink streams the tensors into
the layout Oracle expects.
"""

from __future__ import annotations

import shutil
import tempfile
import weakref
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import BinaryIO

import onnx
from onnx import TensorProto
from onnx.external_data_helper import ExternalDataInfo, load_external_data_for_model, set_external_data, uses_external_data

ALIGNMENT = 4096  # each tensor starts on a page boundary, so a runtime may map it directly
SMALLEST_EXTERNAL = 1024  # bytes; smaller tensors (shapes, scalars) stay in the graph


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
    offset = -(-handle.tell() // ALIGNMENT) * ALIGNMENT
    handle.write(b"\0" * (offset - handle.tell()))
    handle.write(data)
    set_external_data(tensor, location, offset=offset, length=memoryview(data).nbytes)
    tensor.data_location = TensorProto.EXTERNAL
