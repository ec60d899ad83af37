"""Oracle 26ai's external-data layout: ``<name>.onnx`` referencing ``<name>.dat``, described by a JSON file.

The graph's external tensors live in the pipeline's weight folder (possibly in several files);
they are streamed, one block at a time, into one ``.dat`` file with every tensor starting on a
4096-byte boundary, and each is described in ``<name>_external_data.json`` (name, shape, ONNX
data type, offset and size in bytes), the description ``DBMS_VECTOR.LOAD_ONNX_MODEL`` reads.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any, BinaryIO

import onnx
from embedpipe.errors import ExportError
from onnx import TensorProto
from onnx.external_data_helper import ExternalDataInfo, uses_external_data

from embedpipe_sinks.atomic import atomic_file

ALIGNMENT = 4096
BLOCK = 16 * 2**20
DESCRIPTION_FORMAT = "embedpipe-external-data/1"


def layout_names(name: str) -> tuple[str, str, str]:
    """The graph, data and description file names of an export called ``name``."""
    return f"{name}.onnx", f"{name}.dat", f"{name}_external_data.json"


def write_layout(model: onnx.ModelProto, weights_dir: Path, name: str, target_dir: Path) -> list[Path]:
    """Write the three files into ``target_dir``; the ``.onnx`` is renamed into place last."""
    graph_name, data_name, description_name = layout_names(name)
    graph = onnx.ModelProto()
    graph.CopyFrom(model)
    with contextlib.ExitStack() as stack:
        data = stack.enter_context(atomic_file(target_dir / data_name))
        entries = [
            _move(tensor, weights_dir, data, data_name) for tensor in graph.graph.initializer if uses_external_data(tensor)
        ]
        description = {"format": DESCRIPTION_FORMAT, "model": graph_name, "data_files": [data_name], "initializers": entries}
        stack.enter_context(atomic_file(target_dir / description_name)).write(json.dumps(description, indent=1).encode())
    try:
        with atomic_file(target_dir / graph_name) as handle:
            handle.write(graph.SerializeToString())
    except BaseException:
        for leftover in (data_name, description_name):
            (target_dir / leftover).unlink(missing_ok=True)
        raise
    return [target_dir / graph_name, target_dir / data_name, target_dir / description_name]


def _move(tensor: TensorProto, weights_dir: Path, data: BinaryIO, data_name: str) -> dict[str, Any]:
    """Copy one tensor's bytes into ``data`` at the next aligned offset and point the tensor there."""
    info = ExternalDataInfo(tensor)
    offset = -(-data.tell() // ALIGNMENT) * ALIGNMENT
    data.write(b"\0" * (offset - data.tell()))
    data.writelines(_read(_inside(weights_dir, info.location), info.offset or 0, info.length))
    del tensor.external_data[:]
    for key, value in (("location", data_name), ("offset", str(offset)), ("length", str(info.length))):
        entry = tensor.external_data.add()
        entry.key, entry.value = key, value
    return {
        "name": tensor.name,
        "shape": list(tensor.dims),
        "data_type": TensorProto.DataType.Name(tensor.data_type),
        "offset": offset,
        "size": info.length,
        "location": data_name,
    }


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
