"""FP16: the encoder's weights (and, by default, its arithmetic) in float16; the graph's IO types unchanged.

``compute="float16"`` converts the encoder with onnxruntime's float16 converter: weights and
activations in float16, casts at the edges, ops without a safe float16 form (its default block
list) left in float32, and the pooling, head and post-processing stages kept in float32 so sums
over many tokens, the normalization and a classifier's softmax do not lose precision. ``compute="float32"`` stores the
weights in float16 only and casts them back once, when the runtime loads the graph: half the
size at fp32 speed, for CPUs (the database's) that have no float16 arithmetic and emulate it.
"""

from __future__ import annotations

import numpy as np
import onnx
from embedpipe import contract
from embedpipe.components import Calibration
from embedpipe.errors import ConfigError
from onnx import TensorProto, helper, numpy_helper
from onnxruntime.transformers.float16 import DEFAULT_OP_BLOCK_LIST, convert_float_to_float16
from onnxruntime.transformers.onnx_model import OnnxModel

from embedpipe_quantize.quiet import quiet_quantization_logs

COMPUTE = ("float16", "float32")
FLOAT32_STAGES = (contract.POOLER_STAGE, contract.HEAD_STAGE, contract.POSTPROCESSOR_STAGES)
FP16_MAX = float(np.finfo(np.float16).max)
SMALLEST_CONVERTED = 1024  # elements; scalars and shapes are not worth a Cast


class Fp16Quantizer:
    """FP16 of the graph's body; see the module docstring for the two ``compute`` modes."""

    quality_floor = 0.999
    neighbour_floor = 0.99

    def __init__(self, compute: str = "float16") -> None:
        if compute not in COMPUTE:
            raise ConfigError(f"FP16 compute {compute!r} is unknown", f"use one of: {', '.join(COMPUTE)}")
        self.compute = compute
        self.kept_float: tuple[str, ...] = ()

    def quantize(self, model: onnx.ModelProto, calibration: Calibration) -> onnx.ModelProto:
        """The body in float16; FP16 needs no calibration (the conversion is fixed), so ``calibration`` goes unused."""
        if self.compute == "float32":
            return float16_weights(model)
        float32_nodes = [node.name for node in model.graph.node if node.name.startswith(FLOAT32_STAGES)]
        self.kept_float = tuple(float32_nodes)
        with quiet_quantization_logs():
            converted = convert_float_to_float16(
                model, keep_io_types=True, op_block_list=DEFAULT_OP_BLOCK_LIST, node_block_list=float32_nodes
            )
            # The converter appends its casts at the end; ONNX wants nodes in topological order.
            OnnxModel(converted).topological_sort()
        return converted


def float16_weights(model: onnx.ModelProto) -> onnx.ModelProto:
    """``model`` with each large float32 initializer stored as float16 and cast back to float32 where it is read.

    A tensor whose values do not fit float16's range stays float32.
    """
    casts = []
    for tensor in model.graph.initializer:
        if tensor.data_type != TensorProto.FLOAT or int(np.prod(tensor.dims)) < SMALLEST_CONVERTED:
            continue
        values = numpy_helper.to_array(tensor)
        if not np.all(np.abs(values) <= FP16_MAX):
            continue
        stored = f"{tensor.name}/fp16"
        casts.append(helper.make_node("Cast", [stored], [tensor.name], name=f"{tensor.name}/to_float32", to=TensorProto.FLOAT))
        tensor.CopyFrom(numpy_helper.from_array(values.astype(np.float16), stored))
    nodes = [*casts, *model.graph.node]
    del model.graph.node[:]
    model.graph.node.extend(nodes)
    return model
