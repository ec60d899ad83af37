"""Describe a produced graph: what `embedpipe inspect` prints."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import onnx
from onnx.external_data_helper import uses_external_data

from embedpipe import manifest
from embedpipe.errors import ExportError
from embedpipe.oprule import check_op_rule, fitting_profile, undocumented_ops
from embedpipe.weights import tensor_bytes


def _shape(value: onnx.ValueInfoProto) -> list[int | str]:
    return [d.dim_param or d.dim_value for d in value.type.tensor_type.shape.dim]


def _io(value: onnx.ValueInfoProto) -> dict[str, Any]:
    dtype = onnx.helper.tensor_dtype_to_np_dtype(value.type.tensor_type.elem_type)
    return {"name": value.name, "type": "string" if dtype == object else str(dtype), "shape": _shape(value)}


def _external_data(model: onnx.ModelProto) -> dict[str, Any] | None:
    """The tensors kept outside the .onnx file: how many, their bytes, the files they are in."""
    external = [t for t in model.graph.initializer if uses_external_data(t)]
    if not external:
        return None
    files = {e.value for t in external for e in t.external_data if e.key == "location"}
    return {"tensors": len(external), "bytes": sum(tensor_bytes(t) for t in external), "files": sorted(files)}


def describe(file: Path) -> dict[str, Any]:
    """Inputs, outputs, opsets, op counts per domain, size, external data, metadata, the build
    manifest (what went in), the op profile it was built for and the one it fits, and the op-rule verdict."""
    try:
        model = onnx.load(str(file), load_external_data=False)
    except Exception as exc:  # protobuf raises DecodeError and others
        raise ExportError(f"{file} is not an ONNX model ({type(exc).__name__})", "pass a .onnx file embedpipe produced") from exc
    ops = Counter(f"{n.domain or 'ai.onnx'}:{n.op_type}" for n in model.graph.node)
    return {
        "file": str(file),
        "bytes": file.stat().st_size,
        "external_data": _external_data(model),
        "ir_version": model.ir_version,
        "opsets": {o.domain or "ai.onnx": o.version for o in model.opset_import},
        "inputs": [_io(v) for v in model.graph.input],
        "outputs": [_io(v) for v in model.graph.output],
        "ops": dict(sorted(ops.items())),
        "metadata": {p.key: p.value for p in model.metadata_props if p.key != manifest.MANIFEST_KEY},
        "manifest": manifest.read(model),
        "op_profile": manifest.recorded_op_profile(model),
        "fits_profile": fitting_profile(model),
        "oracle_op_rule": check_op_rule(model) or "ok",
        "undocumented_in_oracle": undocumented_ops(model),
    }

