"""INT8 storage with float arithmetic: the MatMuls quantization would damage most keep their float computation.

Each chosen MatMul's weight is stored as int8 with one scale per output column (symmetric, so
zero stays exact) and a standard ``DequantizeLinear`` turns it back into float32 when the graph
runs: the file stays the size of a fully quantized one, and the product is a float product with
the weight rounded to 255 levels per column, far closer to fp32 than integer arithmetic on
dynamically quantized inputs.
"""

from __future__ import annotations

from collections.abc import Collection

import numpy as np
import onnx
from onnx import helper, numpy_helper

LEVELS = 127


def dequantized_weights(model: onnx.ModelProto, nodes: Collection[str]) -> onnx.ModelProto:
    """``model`` with the named MatMuls' float weights stored as int8 and dequantized where they are read."""
    initializers = {t.name: t for t in model.graph.initializer}
    dequantize = []
    for node in model.graph.node:
        if node.name not in nodes or node.op_type != "MatMul" or node.input[1] not in initializers:
            continue
        tensor = initializers[node.input[1]]
        weight = numpy_helper.to_array(tensor)
        scale = (np.abs(weight).max(axis=0) / LEVELS).astype(np.float32)
        scale[scale == 0] = 1
        stored = np.clip(np.round(weight / scale), -LEVELS, LEVELS).astype(np.int8)
        name = tensor.name
        model.graph.initializer.remove(tensor)
        model.graph.initializer.extend(
            [
                numpy_helper.from_array(stored, f"{name}_int8"),
                numpy_helper.from_array(scale, f"{name}_int8_scale"),
                numpy_helper.from_array(np.zeros_like(stored[0]), f"{name}_int8_zero_point"),
            ]
        )
        dequantize.append(
            helper.make_node("DequantizeLinear", [f"{name}_int8", f"{name}_int8_scale", f"{name}_int8_zero_point"], [name], name=f"{name}/dequantize", axis=1)
        )
    nodes_in_order = [*dequantize, *model.graph.node]
    del model.graph.node[:]
    model.graph.node.extend(nodes_in_order)
    return model
