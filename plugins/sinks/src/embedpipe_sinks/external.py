"""Write an external-data graph in the layout Oracle 26ai loads (``embedpipe.weights.ExternalDataLayout``).

The graph's external tensors live in the pipeline's weight folder (possibly in several files);
they are streamed, one block at a time, into the layout's one data file, each tensor on an
aligned offset, and the layout's description is written from the rewritten graph. For
``name``: ``name.onnx``, ``name.dat`` and ``name.onnx_external_data.json``.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

import onnx
from embedpipe.errors import ExportError
from embedpipe.weights import ExternalDataLayout, pad_to_alignment
from onnx import TensorProto
from onnx.external_data_helper import ExternalDataInfo, uses_external_data

from embedpipe_sinks.atomic import atomic_file

BLOCK = 16 * 2**20


def write_layout(model: onnx.ModelProto, weights_dir: Path, name: str, target_dir: Path) -> list[Path]:
    """Write the layout's three files into ``target_dir``; the ``.onnx`` is renamed into place last."""
    layout = ExternalDataLayout.named(name)
    graph = onnx.ModelProto()
    graph.CopyFrom(model)
    with contextlib.ExitStack() as stack:
        data = stack.enter_context(atomic_file(target_dir / layout.data))
        for tensor in graph.graph.initializer:
            if uses_external_data(tensor):
                _move(tensor, weights_dir, data, layout.data)
        description = json.dumps(layout.describe(graph), indent=1).encode()
        stack.enter_context(atomic_file(target_dir / layout.description)).write(description)
    try:
        with atomic_file(target_dir / layout.graph) as handle:
            handle.write(graph.SerializeToString())
    except BaseException:
        for leftover in (layout.data, layout.description):
            (target_dir / leftover).unlink(missing_ok=True)
        raise
    return [target_dir / file for file in layout.files]


def _move(tensor: TensorProto, weights_dir: Path, data: BinaryIO, data_name: str) -> None:
    """Copy one tensor's bytes into ``data`` at the next aligned offset and point the tensor there."""
    info = ExternalDataInfo(tensor)
    offset = pad_to_alignment(data)
    data.writelines(_read(_inside(weights_dir, info.location), info.offset or 0, info.length))
    del tensor.external_data[:]
    for key, value in (("location", data_name), ("offset", str(offset)), ("length", str(info.length))):
        entry = tensor.external_data.add()
        entry.key, entry.value = key, value


def _inside(folder: Path, location: str) -> Path:
    """``location`` resolved in ``folder``; a location that climbs out of it is refused."""
    path = (folder / location).resolve()
    if folder.resolve() not in path.parents:
        raise ExportError(
            f"external data location {location!r} points outside the weight folder", "rebuild the graph with embedpipe"
        )
    return path


def _read(path: Path, offset: int, length: int) -> Iterator[bytes]:
    """``length`` bytes of ``path`` from ``offset``, in blocks; a short file is an error, not a silent truncation."""
    with path.open("rb") as handle:
        handle.seek(offset)
        left = length
        while left:
            block = handle.read(min(BLOCK, left))
            if not block:
                raise ExportError(f"{path.name} ends {left} bytes early", "rebuild the graph; its weight folder is damaged")
            left -= len(block)
            yield block
