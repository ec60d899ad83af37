"""A Dense layer's parameters, checked once so the graph and the reference are built from the same facts."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from embedpipe.errors import ConfigError
from embedpipe_postprocess.activations import DEFAULT_ACTIVATION, Activation, resolve


@dataclass(frozen=True)
class DenseLayer:
    """y = activation(x W^T + b), with W stored [out_features, in_features] as torch.nn.Linear does."""

    weight: np.ndarray
    bias: np.ndarray | None
    activation: Activation

    @property
    def in_features(self) -> int:
        return int(self.weight.shape[1])

    @property
    def out_features(self) -> int:
        return int(self.weight.shape[0])

    @classmethod
    def from_options(
        cls,
        *,
        weight: Any,
        bias_values: Any = None,
        in_features: int | None = None,
        out_features: int | None = None,
        bias: bool | None = None,
        activation_function: str | None = DEFAULT_ACTIVATION,
    ) -> DenseLayer:
        """Check explicit options; sizes and the bias flag default to what the arrays say.

        ``activation_function`` defaults to Tanh and ``None`` means Identity, as in sentence-transformers.
        """
        activation = resolve(activation_function)
        matrix = np.asarray(weight, dtype=np.float32)
        if matrix.ndim != 2 or 0 in matrix.shape:
            raise ConfigError(f"Dense weight must be a non-empty 2-D array [out, in], got shape {matrix.shape}")
        declared = (
            matrix.shape[0] if out_features is None else out_features,
            matrix.shape[1] if in_features is None else in_features,
        )
        if matrix.shape != declared:
            raise ConfigError(
                f"Dense weight has shape {matrix.shape} but out_features, in_features say {declared}",
                "give the weight as [out_features, in_features], as torch.nn.Linear stores it",
            )
        if bias is None:
            bias = bias_values is not None
        if bias != (bias_values is not None):
            raise ConfigError(
                f"Dense bias={bias} but bias values were {'not ' if bias_values is None else ''}given",
                "pass bias_values exactly when bias is true",
            )
        vector = None if bias_values is None else np.asarray(bias_values, dtype=np.float32)
        if vector is not None and vector.shape != (matrix.shape[0],):
            raise ConfigError(f"Dense bias has shape {vector.shape}, expected ({matrix.shape[0]},)")
        return cls(matrix, vector, activation)
