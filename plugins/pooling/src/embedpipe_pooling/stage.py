"""What every pooler shares: the stage's signature, the reference module and a few node helpers.

A pooler only says which nodes turn ``token_embeddings`` and ``attention_mask`` into
``sentence_embedding``; this module wraps them in a checked, standalone stage so all four poolers
honour the contract the same way. The core has already held ``opset`` to the contract's range; the
nodes need opset 13 or later (axes given as inputs to Unsqueeze, Squeeze and ReduceSum).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import ClassVar

import numpy as np
import onnx
from onnx import NodeProto, TensorProto, helper, numpy_helper
from sentence_transformers.sentence_transformer.modules import Pooling

from embedpipe import contract
from embedpipe.graph import stage_model

# ReduceMax takes its axes as an input instead of an attribute from opset 18 on.
REDUCE_AXES_AS_INPUT_OPSET = 18
SEQUENCE = "sequence"


class ModePooler(ABC):
    """A pooler that reproduces sentence-transformers' ``Pooling`` in one ``pooling_mode``."""

    mode: ClassVar[str]

    def build_graph(self, hidden_size: int, opset: int) -> onnx.ModelProto:
        """The pooler stage for embeddings of width ``hidden_size``, checked by ONNX."""
        inputs = [
            helper.make_tensor_value_info(contract.TOKEN_EMBEDDINGS, TensorProto.FLOAT, [1, SEQUENCE, hidden_size]),
            helper.make_tensor_value_info(contract.ATTENTION_MASK, TensorProto.INT64, [1, SEQUENCE]),
        ]
        output = helper.make_tensor_value_info(contract.SENTENCE_EMBEDDING, TensorProto.FLOAT, [1, hidden_size])
        graph = helper.make_graph(self.nodes(opset), f"{self.mode}_pooling", inputs, [output])
        return stage_model(graph, opset, producer="embedpipe-pooling")

    def reference_module(self, hidden_size: int) -> Pooling:
        """sentence-transformers' own ``Pooling`` in this mode, so validation never trusts us."""
        return Pooling(hidden_size, pooling_mode=self.mode)

    @abstractmethod
    def nodes(self, opset: int) -> list[NodeProto]:
        """Nodes from the contract's pooler inputs to ``sentence_embedding``."""


def constant(name: str, value: np.ndarray) -> NodeProto:
    """A ``Constant`` node, so a pooler's nodes need no separate initializer list."""
    return helper.make_node("Constant", [], [name], value=numpy_helper.from_array(value, name))


def unsqueezed_mask(output: str, dtype: int) -> list[NodeProto]:
    """``attention_mask`` as [1, S, 1] of ``dtype``, ready to broadcast over the hidden axis."""
    return [
        constant("mask_axes", np.array([-1], dtype=np.int64)),
        helper.make_node("Unsqueeze", [contract.ATTENTION_MASK, "mask_axes"], ["mask_3d"]),
        helper.make_node("Cast", ["mask_3d"], [output], to=dtype),
    ]


def reduce_max(data: str, output: str, axis: int, opset: int, keepdims: int) -> list[NodeProto]:
    """``ReduceMax`` over one axis, spelt the way ``opset`` wants its axes."""
    if opset < REDUCE_AXES_AS_INPUT_OPSET:
        return [helper.make_node("ReduceMax", [data], [output], axes=[axis], keepdims=keepdims)]
    axes = f"{output}_axes"
    return [
        constant(axes, np.array([axis], dtype=np.int64)),
        helper.make_node("ReduceMax", [data, axes], [output], keepdims=keepdims),
    ]


def token_at(embeddings: str, index: str) -> list[NodeProto]:
    """``sentence_embedding`` [N, H]: for each row of ``embeddings`` [N, S, H] the position ``index`` [N] names.

    A one-hot mask over the positions rather than a Gather, so that a batch picks one position per row.
    """
    return [
        helper.make_node("Shape", [embeddings], ["pick_shape"]),
        constant("pick_zero", np.array(0, dtype=np.int64)),
        constant("pick_one", np.array(1, dtype=np.int64)),
        helper.make_node("Gather", ["pick_shape", "pick_one"], ["pick_length"], axis=0),
        helper.make_node("Range", ["pick_zero", "pick_length", "pick_one"], ["pick_positions"]),
        constant("pick_axis", np.array([1], dtype=np.int64)),
        helper.make_node("Unsqueeze", [index, "pick_axis"], ["pick_column"]),
        helper.make_node("Equal", ["pick_positions", "pick_column"], ["pick_hit"]),
        helper.make_node("Cast", ["pick_hit"], ["pick_hit_f"], to=TensorProto.FLOAT),
        constant("pick_hidden_axis", np.array([-1], dtype=np.int64)),
        helper.make_node("Unsqueeze", ["pick_hit_f", "pick_hidden_axis"], ["pick_weights"]),
        helper.make_node("Mul", [embeddings, "pick_weights"], ["picked"]),
        helper.make_node("ReduceSum", ["picked", "pick_axis"], [contract.SENTENCE_EMBEDDING], keepdims=0),
    ]
