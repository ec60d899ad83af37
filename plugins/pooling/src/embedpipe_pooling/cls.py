"""CLS pooling: the embedding of the first token the mask keeps."""

from __future__ import annotations

from onnx import NodeProto, TensorProto, helper

from embedpipe import contract
from embedpipe.stagekit import token_at
from embedpipe_pooling.stage import ModePooler


class ClsPooler(ModePooler):
    """The first position where the mask is 1 (position 0 unless left-padded), as sentence-transformers picks it."""

    mode = "cls"

    def nodes(self, opset: int) -> list[NodeProto]:
        return [
            # A float mask: ONNX Runtime's CPU ArgMax has lacked an int64 kernel (onnxruntime#10068).
            helper.make_node("Cast", [contract.ATTENTION_MASK], ["mask_f"], to=TensorProto.FLOAT),
            helper.make_node("ArgMax", ["mask_f"], ["first"], axis=1, keepdims=0),
            *token_at(contract.TOKEN_EMBEDDINGS, "first"),
        ]
