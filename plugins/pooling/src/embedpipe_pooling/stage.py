"""What every first-party pooler shares: one sentence-transformers pooling mode, as a stage and as the reference.

A pooler only says which nodes turn ``token_embeddings`` and ``attention_mask`` into
``sentence_embedding``; ``embedpipe.stagekit`` wraps them in the contract's checked signature. The
core has already held ``opset`` to the contract's range; the nodes need opset 13 or later (axes
given as inputs to Unsqueeze, Squeeze and ReduceSum).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import ClassVar

import onnx
from onnx import NodeProto
from sentence_transformers.sentence_transformer.modules import Pooling

from embedpipe.stagekit import pooler_stage


class ModePooler(ABC):
    """A pooler that reproduces sentence-transformers' ``Pooling`` in one ``pooling_mode``."""

    mode: ClassVar[str]

    def build_graph(self, hidden_size: int, opset: int) -> onnx.ModelProto:
        """The pooler stage for embeddings of width ``hidden_size``, checked by ONNX."""
        return pooler_stage(f"{self.mode}_pooling", self.nodes(opset), hidden_size, opset, producer="embedpipe-pooling")

    def reference_module(self, hidden_size: int) -> Pooling:
        """sentence-transformers' own ``Pooling`` in this mode, so validation never trusts us."""
        return Pooling(hidden_size, pooling_mode=self.mode)

    @abstractmethod
    def nodes(self, opset: int) -> list[NodeProto]:
        """Nodes from the contract's pooler inputs to ``sentence_embedding``, row by row for any batch."""
