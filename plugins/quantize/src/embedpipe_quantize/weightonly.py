"""INT8 storage with float arithmetic: the MatMuls quantization would damage most keep their float computation.

Each chosen MatMul's weight is stored as int8 with one scale per output column (symmetric, so
zero stays exact) and turned back into float32 by ``Cast`` and ``Mul``: the file stays the size
of a fully quantized one, the runtime folds the two constants into a float weight once when it
opens the graph, and the product is a float product with the weight rounded to 255 levels per
column, far closer to fp32 than integer arithmetic on dynamically quantized inputs. Not
``DequantizeLinear``: ONNX Runtime 1.32 rewrites DequantizeLinear + MatMul into its own
MatMulNBits and fails when the weight lives outside a Loop body, as in the batched graph.
"""

from __future__ import annotations

from collections.abc import Collection

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

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
        model.graph.initializer.extend([numpy_helper.from_array(stored, f"{name}_int8"), numpy_helper.from_array(scale, f"{name}_int8_scale")])
        dequantize += [
            helper.make_node("Cast", [f"{name}_int8"], [f"{name}_int8_float"], name=f"{name}/to_float", to=TensorProto.FLOAT),
            helper.make_node("Mul", [f"{name}_int8_float", f"{name}_int8_scale"], [name], name=f"{name}/dequantize"),
        ]
    nodes_in_order = [*dequantize, *model.graph.node]
    del model.graph.node[:]
    model.graph.node.extend(nodes_in_order)
    return model
