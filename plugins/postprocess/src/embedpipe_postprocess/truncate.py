"""Matryoshka truncation: keep the first ``dim`` components of the embedding.

Models trained with a Matryoshka loss put the most information in the leading dimensions, so a
prefix of the vector is itself an embedding. sentence-transformers applies ``truncate_dim`` after
the whole module chain; placed before ``normalize`` here, the graph's vector points the same way as
``SentenceTransformer(model, truncate_dim=k)``'s and also has unit length.
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np
import onnx
from onnx import helper
from sentence_transformers.base.modules.module import Module
from torch import Tensor

from embedpipe import contract
from embedpipe.errors import ConfigError
from embedpipe.stagekit import constant, postprocess_stage


class Truncate(Module):
    """sentence-transformers-style reference: ``sentence_embedding[..., :dim]``."""

    config_keys: ClassVar[list[str]] = ["dim"]

    def __init__(self, dim: int) -> None:
        super().__init__()
        self.dim = dim

    def forward(self, features: dict[str, Tensor]) -> dict[str, Tensor]:
        features["sentence_embedding"] = features["sentence_embedding"][..., : self.dim]
        return features

    def save(self, output_path: str, *args, safe_serialization: bool = True, **kwargs) -> None:  # type: ignore[no-untyped-def]
        self.save_config(output_path)


class TruncatePostProcessor:
    """features_in [1, D] -> features_out [1, dim], for 1 <= dim <= D."""

    def __init__(self, dim: int) -> None:
        if isinstance(dim, bool) or not isinstance(dim, int) or dim < 1:
            raise ConfigError(f"truncate dim {dim!r} is impossible", "use a whole number of dimensions, at least 1")
        self.dim = dim

    def output_dim(self, input_dim: int) -> int:
        if self.dim > input_dim:
            raise ConfigError(
                f"truncate dim {self.dim} exceeds the {input_dim} dimensions the embedding has",
                f"use at most {input_dim}",
            )
        return self.dim

    def build_graph(self, input_dim: int, opset: int) -> onnx.ModelProto:
        output_dim = self.output_dim(input_dim)
        nodes = [
            constant("start", np.array([0], np.int64)),
            constant("end", np.array([output_dim], np.int64)),
            constant("axis", np.array([1], np.int64)),
            helper.make_node("Slice", [contract.POSTPROCESS_INPUT, "start", "end", "axis"], [contract.POSTPROCESS_OUTPUT]),
        ]
        return postprocess_stage(
            f"truncate_{output_dim}", nodes, input_dim, output_dim, opset, producer="embedpipe-postprocess"
        )

    def reference_module(self, input_dim: int) -> Truncate:
        return Truncate(self.output_dim(input_dim))
