"""Example third-party plugin: two more sentence-transformers pooling modes as ONNX stages.

It imports only embedpipe's public contract (``hookimpl``, ``contract`` names) and onnx.
"""

from __future__ import annotations

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from embedpipe import contract, hookimpl
from embedpipe.graph import stage_model

_EPS = 1e-9  # sentence-transformers clamps the denominator here


def _pooling_model(nodes: list[onnx.NodeProto], initializers: list[onnx.TensorProto], hidden_size: int, opset: int) -> onnx.ModelProto:
    graph = helper.make_graph(
        nodes,
        "pooler",
        [
            helper.make_tensor_value_info(contract.TOKEN_EMBEDDINGS, TensorProto.FLOAT, [1, "sequence", hidden_size]),
            helper.make_tensor_value_info(contract.ATTENTION_MASK, TensorProto.INT64, [1, "sequence"]),
        ],
        [helper.make_tensor_value_info(contract.SENTENCE_EMBEDDING, TensorProto.FLOAT, [1, hidden_size])],
        initializer=initializers,
    )
    return stage_model(graph, opset, producer="embedpipe-extra-pooling")


def _constants() -> list[onnx.TensorProto]:
    return [
        numpy_helper.from_array(np.array([1], dtype=np.int64), "axis1"),
        numpy_helper.from_array(np.array([-1], dtype=np.int64), "axis_last"),
        numpy_helper.from_array(np.array(_EPS, dtype=np.float32), "eps"),
    ]


def _masked_sum_nodes(weights: str) -> list[onnx.NodeProto]:
    """sum(token_embeddings * weights[..., None]) / max(sum(weights), eps), weights [1, S] float."""
    return [
        helper.make_node("Unsqueeze", [weights, "axis_last"], ["w3"]),
        helper.make_node("Mul", [contract.TOKEN_EMBEDDINGS, "w3"], ["weighted"]),
        helper.make_node("ReduceSum", ["weighted", "axis1"], ["numerator"], keepdims=0),
        helper.make_node("ReduceSum", [weights, "axis1"], ["count"], keepdims=1),
    ]


class WeightedMeanPooler:
    """Position-weighted mean: weights 1, 2, ... counted from the first unmasked token."""

    def build_graph(self, hidden_size: int, opset: int) -> onnx.ModelProto:
        nodes = [
            helper.make_node("Cast", [contract.ATTENTION_MASK], ["mask"], to=TensorProto.FLOAT),
            helper.make_node("CumSum", ["mask", "one_axis"], ["rank"]),  # 1, 2, ... over real tokens
            helper.make_node("Mul", ["rank", "mask"], ["weights"]),
            *_masked_sum_nodes("weights"),
            helper.make_node("Max", ["count", "eps"], ["denominator"]),
            helper.make_node("Div", ["numerator", "denominator"], [contract.SENTENCE_EMBEDDING]),
        ]
        initializers = [*_constants(), numpy_helper.from_array(np.array(1, dtype=np.int64), "one_axis")]
        return _pooling_model(nodes, initializers, hidden_size, opset)

    def reference_module(self, hidden_size: int):  # type: ignore[no-untyped-def]
        from sentence_transformers.sentence_transformer.modules import Pooling

        return Pooling(hidden_size, pooling_mode="weightedmean")


class SqrtLengthMeanPooler:
    """Masked sum divided by the square root of the number of tokens."""

    def build_graph(self, hidden_size: int, opset: int) -> onnx.ModelProto:
        nodes = [
            helper.make_node("Cast", [contract.ATTENTION_MASK], ["mask"], to=TensorProto.FLOAT),
            *_masked_sum_nodes("mask"),
            helper.make_node("Max", ["count", "eps"], ["clamped"]),
            helper.make_node("Sqrt", ["clamped"], ["denominator"]),
            helper.make_node("Div", ["numerator", "denominator"], [contract.SENTENCE_EMBEDDING]),
        ]
        return _pooling_model(nodes, _constants(), hidden_size, opset)

    def reference_module(self, hidden_size: int):  # type: ignore[no-untyped-def]
        from sentence_transformers.sentence_transformer.modules import Pooling

        return Pooling(hidden_size, pooling_mode="mean_sqrt_len_tokens")


@hookimpl
def embedpipe_register_poolers(register) -> None:  # type: ignore[no-untyped-def]
    register("weightedmean", WeightedMeanPooler)
    register("mean_sqrt_len_tokens", SqrtLengthMeanPooler)
