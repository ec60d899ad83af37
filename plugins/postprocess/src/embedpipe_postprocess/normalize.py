"""L2 normalisation over the embedding axis, as sentence-transformers' ``Normalize`` does it."""

from __future__ import annotations

import numpy as np
import onnx
from onnx import helper
from sentence_transformers.sentence_transformer.modules import Normalize

from embedpipe import contract
from embedpipe.stagekit import constant, postprocess_stage, scalar

# torch.nn.functional.normalize's default eps: a zero vector stays zero instead of becoming NaN.
EPS = 1e-12


class NormalizePostProcessor:
    """x / max(||x||_2, 1e-12); the width is unchanged."""

    def output_dim(self, input_dim: int) -> int:
        return input_dim

    def build_graph(self, input_dim: int, opset: int) -> onnx.ModelProto:
        # ReduceSum keeps its axes-as-input form from opset 13 on, unlike ReduceL2 (changed in 18).
        nodes = [
            helper.make_node("Mul", [contract.POSTPROCESS_INPUT, contract.POSTPROCESS_INPUT], ["squares"]),
            constant("last_axis", np.array([-1], np.int64)),
            helper.make_node("ReduceSum", ["squares", "last_axis"], ["sum_of_squares"], keepdims=1),
            helper.make_node("Sqrt", ["sum_of_squares"], ["norm"]),
            scalar("eps", EPS),
            helper.make_node("Max", ["norm", "eps"], ["clamped_norm"]),
            helper.make_node("Div", [contract.POSTPROCESS_INPUT, "clamped_norm"], [contract.POSTPROCESS_OUTPUT]),
        ]
        return postprocess_stage("normalize", nodes, input_dim, input_dim, opset, producer="embedpipe-postprocess")

    def reference_module(self, input_dim: int) -> Normalize:
        return Normalize()
