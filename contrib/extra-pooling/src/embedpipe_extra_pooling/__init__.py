"""Example third-party plugin: two more sentence-transformers pooling modes as ONNX stages.

It imports only embedpipe's public contract (``hookimpl``, ``contract`` names, ``stagekit``) and onnx.
"""

from __future__ import annotations

import numpy as np
import onnx
from onnx import TensorProto, helper

from embedpipe import contract, hookimpl
from embedpipe.stagekit import constant, pooler_stage

_EPS = 1e-9  # sentence-transformers clamps the denominator here
_PRODUCER = "embedpipe-extra-pooling"


def _masked_sum_nodes(weights: str) -> list[onnx.NodeProto]:
    """numerator = sum(token_embeddings * weights[..., None]) over tokens, count = sum(weights) [N, 1],
    for float ``weights`` [N, S]; and ``eps``, to clamp the count with."""
    return [
        constant("axis1", np.array([1], dtype=np.int64)),
        constant("axis_last", np.array([-1], dtype=np.int64)),
        constant("eps", np.array(_EPS, dtype=np.float32)),
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
            constant("one_axis", np.array(1, dtype=np.int64)),
            helper.make_node("CumSum", ["mask", "one_axis"], ["rank"]),  # 1, 2, ... over real tokens
            helper.make_node("Mul", ["rank", "mask"], ["weights"]),
            *_masked_sum_nodes("weights"),
            helper.make_node("Max", ["count", "eps"], ["denominator"]),
            helper.make_node("Div", ["numerator", "denominator"], [contract.SENTENCE_EMBEDDING]),
        ]
        return pooler_stage("weightedmean_pooling", nodes, hidden_size, opset, producer=_PRODUCER)

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
        return pooler_stage("mean_sqrt_len_tokens_pooling", nodes, hidden_size, opset, producer=_PRODUCER)

    def reference_module(self, hidden_size: int):  # type: ignore[no-untyped-def]
        from sentence_transformers.sentence_transformer.modules import Pooling

        return Pooling(hidden_size, pooling_mode="mean_sqrt_len_tokens")


@hookimpl
def embedpipe_register_poolers(register) -> None:  # type: ignore[no-untyped-def]
    register("weightedmean", WeightedMeanPooler)
    register("mean_sqrt_len_tokens", SqrtLengthMeanPooler)
