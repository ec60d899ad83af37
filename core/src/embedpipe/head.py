"""The head stage of a reranker or classifier: the activation after the encoder's logits.

A stage of its own (not part of the encoder export) so the raw-logit and the activated graph share
one encoder export path, and the activation is visible by name (``head/``) in the composed graph.
"""

from __future__ import annotations

import onnx
from onnx import TensorProto, helper

from embedpipe import contract
from embedpipe.stagekit import stage_model

_OPS = {contract.IDENTITY: "Identity", contract.SIGMOID: "Sigmoid", contract.SOFTMAX: "Softmax"}


def head_stage(activation: str, num_labels: int, opset: int) -> onnx.ModelProto:
    """``head_in`` float32 [1, L] -> ``head_out`` [1, L]: identity, sigmoid, or softmax over the labels."""
    attributes = {"axis": -1} if activation == contract.SOFTMAX else {}
    node = helper.make_node(_OPS[activation], [contract.HEAD_INPUT], [contract.HEAD_OUTPUT], **attributes)
    graph = helper.make_graph(
        [node],
        f"{activation}_head",
        [helper.make_tensor_value_info(contract.HEAD_INPUT, TensorProto.FLOAT, [1, num_labels])],
        [helper.make_tensor_value_info(contract.HEAD_OUTPUT, TensorProto.FLOAT, [1, num_labels])],
    )
    return stage_model(graph, opset, producer="embedpipe-core")
