"""Graph optimization that stays portable: ONNX Runtime's basic level, kept only if nothing new appears.

The basic level folds constants and removes redundant nodes; the extended and layout levels fuse
ops into com.microsoft or hardware-specific kernels that the database's runtime may lack, so they
are never written into a file. A model saved by a newer ONNX Runtime also declares opset imports
(ai.onnx.ml 5, training domains, ...) that ONNX Runtime 1.15.1 refuses to load; they are reset to
the input's. If the optimized graph uses any op the input did not, the input is kept unchanged.
"""

from __future__ import annotations

import logging
import tempfile
from pathlib import Path

import onnx
import onnxruntime as ort
from onnxruntime_extensions import get_library_path

log = logging.getLogger(__name__)


def _ops(model: onnx.ModelProto) -> set[tuple[str, str]]:
    return {(node.domain, node.op_type) for node in model.graph.node}


def optimize_portably(model: onnx.ModelProto) -> onnx.ModelProto:
    """``model`` after ONNX Runtime's basic optimizations, with the input's opsets and IR version.

    ``model`` must be self-contained (its weights in memory); the result is too.
    """
    with tempfile.TemporaryDirectory(prefix="embedpipe-optimize-") as folder:
        output = Path(folder) / "optimized.onnx"
        options = ort.SessionOptions()
        options.register_custom_ops_library(get_library_path())
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_BASIC
        options.optimized_model_filepath = str(output)
        ort.InferenceSession(model.SerializeToString(), options, providers=["CPUExecutionProvider"])
        optimized = onnx.load(str(output))
    new_ops = _ops(optimized) - _ops(model)
    if new_ops:
        log.warning("basic optimization introduced %s; keeping the graph unoptimized", sorted(new_ops))
        return model
    del optimized.opset_import[:]
    optimized.opset_import.extend(model.opset_import)
    optimized.ir_version = model.ir_version
    return optimized
