"""sentence-transformers' Dense layer as a post-processor: activation(x W^T + b)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import onnx
import torch
from onnx import helper, numpy_helper
from sentence_transformers.sentence_transformer.modules import Dense

from embedpipe import contract
from embedpipe.errors import ConfigError
from embedpipe.stagekit import postprocess_stage
from embedpipe_postprocess.dense_folder import load_dense_folder
from embedpipe_postprocess.layer import DenseLayer


class DensePostProcessor:
    """One Dense layer; ``folder`` is where it was read from, if anywhere."""

    def __init__(self, layer: DenseLayer, folder: Path | None = None) -> None:
        self.layer = layer
        self.folder = folder

    def output_dim(self, input_dim: int) -> int:
        self._check_input(input_dim)
        return self.layer.out_features

    def build_graph(self, input_dim: int, opset: int) -> onnx.ModelProto:
        self._check_input(input_dim)
        layer = self.layer
        initializers = [numpy_helper.from_array(layer.weight, "dense_weight")]
        if layer.bias is not None:
            initializers.append(numpy_helper.from_array(layer.bias, "dense_bias"))
        nodes = [
            helper.make_node(
                "Gemm", [contract.POSTPROCESS_INPUT, *(i.name for i in initializers)], ["linear"], transB=1
            ),
            *layer.activation.emit("linear", contract.POSTPROCESS_OUTPUT),
        ]
        return postprocess_stage(
            f"dense_{layer.activation.name.lower()}",
            nodes,
            input_dim,
            layer.out_features,
            opset,
            producer="embedpipe-postprocess",
            initializers=initializers,
        )

    def reference_module(self, input_dim: int) -> Dense:
        """sentence-transformers' own Dense: loaded by its own code from the folder, when there is one."""
        self._check_input(input_dim)
        if self.folder is not None:
            return Dense.load(str(self.folder))
        layer = self.layer
        return Dense(
            layer.in_features,
            layer.out_features,
            bias=layer.bias is not None,
            activation_function=layer.activation.torch_class(),
            init_weight=torch.from_numpy(layer.weight.copy()),
            init_bias=None if layer.bias is None else torch.from_numpy(layer.bias.copy()),
        )

    def _check_input(self, input_dim: int) -> None:
        if input_dim != self.layer.in_features:
            raise ConfigError(
                f"Dense layer takes {self.layer.in_features} features but the stage before it gives {input_dim}",
                "check the pooling mode and the order of post_processors",
            )


def dense(*, path: str | os.PathLike[str] | None = None, **explicit: Any) -> DensePostProcessor:
    """The ``dense`` factory: ``path`` to a saved 2_Dense folder, or explicit ``DenseLayer.from_options`` options."""
    if path is None:
        return DensePostProcessor(DenseLayer.from_options(**explicit))
    if explicit:
        raise ConfigError(
            f"dense got both path and {sorted(explicit)}", "give either path or explicit weights, not both"
        )
    folder = Path(path)
    return DensePostProcessor(load_dense_folder(folder), folder)
