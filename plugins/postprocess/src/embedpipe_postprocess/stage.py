"""Wraps a post-processor's nodes in a checked, standalone stage with the contract's signature.

The core has already held ``opset`` to the contract's range; the nodes need opset 13 or later
(ReduceSum's axes as an input, Clip's bounds as inputs).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import onnx
from onnx import NodeProto, TensorProto, helper, numpy_helper

from embedpipe import contract
from embedpipe.graph import stage_model


def postprocess_stage(
    name: str,
    nodes: Sequence[NodeProto],
    input_dim: int,
    output_dim: int,
    opset: int,
    initializers: Sequence[TensorProto] = (),
) -> onnx.ModelProto:
    """``features_in`` [1, input_dim] -> ``features_out`` [1, output_dim], checked by ONNX."""
    graph = helper.make_graph(
        list(nodes),
        name,
        [helper.make_tensor_value_info(contract.POSTPROCESS_INPUT, TensorProto.FLOAT, [1, input_dim])],
        [helper.make_tensor_value_info(contract.POSTPROCESS_OUTPUT, TensorProto.FLOAT, [1, output_dim])],
        initializer=list(initializers),
    )
    return stage_model(graph, opset, producer="embedpipe-postprocess")


def scalar(name: str, value: float) -> NodeProto:
    """A float32 scalar ``Constant`` node, for the constants of an element-wise formula."""
    return helper.make_node("Constant", [], [name], value=numpy_helper.from_array(np.array(value, np.float32), name))
