"""Reads a saved sentence-transformers Dense module folder (``2_Dense/``) into a ``DenseLayer``."""

from __future__ import annotations

import json
import pickle
from pathlib import Path
from typing import Any

import numpy as np
import torch
from safetensors import SafetensorError
from safetensors.torch import load_file

from embedpipe.errors import ConfigError, ModelSourceError
from embedpipe_postprocess.activations import DEFAULT_ACTIVATION
from embedpipe_postprocess.layer import DenseLayer

SAFETENSORS = "model.safetensors"
PICKLED = "pytorch_model.bin"
WEIGHT, BIAS = "linear.weight", "linear.bias"
# A post-processor rewrites the pooled vector; a Dense reading or writing another key is not one.
SENTENCE_EMBEDDING = "sentence_embedding"
FIX = "point path at a folder sentence-transformers' Dense.save wrote (e.g. 2_Dense/)"


def load_dense_folder(folder: Path) -> DenseLayer:
    """The layer ``Dense.load(folder)`` would build, refusing what the ONNX stage cannot reproduce."""
    config = _read_config(folder)
    if config.get("use_residual", False):
        raise ConfigError(f"{folder} is a Dense layer with use_residual, which embedpipe does not support yet")
    for key in ("module_input_name", "module_output_name"):
        if config.get(key, SENTENCE_EMBEDDING) not in (SENTENCE_EMBEDDING, None):
            raise ConfigError(
                f"{folder} applies Dense to {config[key]!r}, not to the pooled sentence_embedding",
                "only Dense layers after pooling can be post-processors",
            )
    state = _read_weights(folder)
    unexpected = set(state) - {WEIGHT, BIAS}
    if WEIGHT not in state or unexpected:
        raise ModelSourceError(f"{folder} holds weights {sorted(state)}, expected {WEIGHT!r} and maybe {BIAS!r}", FIX)
    return DenseLayer.from_options(
        weight=state[WEIGHT],
        bias_values=state.get(BIAS),
        in_features=config.get("in_features"),
        out_features=config.get("out_features"),
        bias=config.get("bias", True),
        activation_function=config.get("activation_function", DEFAULT_ACTIVATION),
    )


def _read_config(folder: Path) -> dict[str, Any]:
    path = folder / "config.json"
    try:
        config = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ModelSourceError(f"cannot read the Dense config {path} ({exc})", FIX) from exc
    if not isinstance(config, dict):
        raise ModelSourceError(f"{path} is not a JSON object", FIX)
    return config


def _read_weights(folder: Path) -> dict[str, np.ndarray]:
    """Tensors as float32 arrays; a pickle is read with ``weights_only=True`` so it cannot run code."""
    safetensors_path, pickle_path = folder / SAFETENSORS, folder / PICKLED
    try:
        if safetensors_path.is_file():
            state = load_file(safetensors_path)
        elif pickle_path.is_file():
            state = torch.load(pickle_path, map_location="cpu", weights_only=True)
        else:
            raise ModelSourceError(f"{folder} has neither {SAFETENSORS} nor {PICKLED}", FIX)
    except (OSError, RuntimeError, SafetensorError, pickle.UnpicklingError) as exc:
        raise ModelSourceError(f"cannot read the Dense weights in {folder} ({exc})", FIX) from exc
    return {name: tensor.detach().to(torch.float32).numpy() for name, tensor in state.items()}
