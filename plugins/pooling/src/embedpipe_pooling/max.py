"""Max pooling: the element-wise maximum over the token embeddings the mask keeps."""

from __future__ import annotations

import numpy as np
from onnx import NodeProto, TensorProto, helper

from embedpipe import contract
from embedpipe.stagekit import constant, reduce, unsqueezed_mask
from embedpipe_pooling.stage import ModePooler


class MaxPooler(ModePooler):
    """Masked positions become -inf before the maximum, exactly as sentence-transformers fills them."""

    mode = "max"

    def nodes(self, opset: int) -> list[NodeProto]:
        return [
            *unsqueezed_mask("keep", TensorProto.BOOL),
            constant("masked_value", np.array(-np.inf, dtype=np.float32)),
            helper.make_node("Where", ["keep", contract.TOKEN_EMBEDDINGS, "masked_value"], ["filled"]),
            *reduce("ReduceMax", "filled", contract.SENTENCE_EMBEDDING, axis=1, opset=opset, keepdims=0),
        ]
