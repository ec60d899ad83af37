"""Mean pooling: the average of the token embeddings the mask keeps."""

from __future__ import annotations

import numpy as np
from onnx import NodeProto, TensorProto, helper

from embedpipe import contract
from embedpipe.stagekit import constant, unsqueezed_mask
from embedpipe_pooling.stage import ModePooler

# sentence-transformers clamps the token count here, so an all-zero mask gives zeros, not NaN.
MIN_TOKEN_COUNT = 1e-9


class MeanPooler(ModePooler):
    """sum(embeddings * mask) / max(sum(mask), 1e-9), as sentence-transformers computes it."""

    mode = "mean"

    def nodes(self, opset: int) -> list[NodeProto]:
        return [
            *unsqueezed_mask("mask_f", TensorProto.FLOAT),
            helper.make_node("Mul", [contract.TOKEN_EMBEDDINGS, "mask_f"], ["kept"]),
            constant("sequence_axis", np.array([1], dtype=np.int64)),
            helper.make_node("ReduceSum", ["kept", "sequence_axis"], ["summed"], keepdims=0),
            helper.make_node("ReduceSum", ["mask_f", "sequence_axis"], ["count"], keepdims=0),
            constant("min_count", np.array(MIN_TOKEN_COUNT, dtype=np.float32)),
            helper.make_node("Max", ["count", "min_count"], ["clamped_count"]),
            helper.make_node("Div", ["summed", "clamped_count"], [contract.SENTENCE_EMBEDDING]),
        ]
