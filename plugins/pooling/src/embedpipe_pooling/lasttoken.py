"""Last-token pooling: the embedding of the last token the mask keeps (decoder-style models)."""

from __future__ import annotations

import numpy as np
from onnx import NodeProto, TensorProto, helper

from embedpipe import contract
from embedpipe.stagekit import constant, reduce, token_at, unsqueezed_mask
from embedpipe_pooling.stage import ModePooler


class LastTokenPooler(ModePooler):
    """The last position where the mask is 1, read from masked embeddings as sentence-transformers does.

    The position is max(mask * [0, 1, ..., S-1]), so left and right padding both work; an all-zero
    mask picks position 0 of the masked (all-zero) embeddings, which is sentence-transformers' answer too.
    """

    mode = "lasttoken"

    def nodes(self, opset: int) -> list[NodeProto]:
        return [
            helper.make_node("Shape", [contract.ATTENTION_MASK], ["mask_shape"]),
            constant("zero", np.array(0, dtype=np.int64)),
            constant("one", np.array(1, dtype=np.int64)),
            helper.make_node("Gather", ["mask_shape", "one"], ["sequence_length"], axis=0),
            helper.make_node("Range", ["zero", "sequence_length", "one"], ["positions"]),
            helper.make_node("Mul", [contract.ATTENTION_MASK, "positions"], ["kept_positions"]),
            *reduce("ReduceMax", "kept_positions", "last", axis=1, opset=opset, keepdims=0),
            *unsqueezed_mask("mask_f", TensorProto.FLOAT),
            helper.make_node("Mul", [contract.TOKEN_EMBEDDINGS, "mask_f"], ["kept"]),
            *token_at("kept", "last"),
        ]
