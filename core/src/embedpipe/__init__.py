"""embedpipe: Hugging Face text-embedding models as one string-in, vector-out ONNX graph.

The public API keeps the names OML4Py users know: ``ONNXPipeline``/``ONNXPipelineConfig`` and
their aliases ``EmbeddingModel``/``EmbeddingModelConfig``.

Importing the package imports neither the pipeline nor the configuration: every plugin imports
``embedpipe.hookimpl`` and every command loads every plugin, so the pipeline (torch,
transformers, onnxruntime) is imported on first use of its name (PEP 562), not at start-up.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from embedpipe.errors import (
    ConfigError,
    EmbedpipeError,
    ExportError,
    ModelSourceError,
    PluginError,
    UnsupportedModelError,
    ValidationError,
)
from embedpipe.hookspecs import hookimpl

if TYPE_CHECKING:
    from embedpipe.config import MiningFunction, ONNXPipelineConfig
    from embedpipe.pipeline import ONNXPipeline

    EmbeddingModel = ONNXPipeline
    EmbeddingModelConfig = ONNXPipelineConfig

# public name -> (module, attribute), imported on first access
_LAZY = {
    "ONNXPipeline": ("embedpipe.pipeline", "ONNXPipeline"),
    "EmbeddingModel": ("embedpipe.pipeline", "ONNXPipeline"),
    "ONNXPipelineConfig": ("embedpipe.config", "ONNXPipelineConfig"),
    "EmbeddingModelConfig": ("embedpipe.config", "ONNXPipelineConfig"),
    "MiningFunction": ("embedpipe.config", "MiningFunction"),
}


def __getattr__(name: str) -> Any:
    if name not in _LAZY:
        raise AttributeError(f"module 'embedpipe' has no attribute {name!r}")
    module, attribute = _LAZY[name]
    value = getattr(importlib.import_module(module), attribute)
    globals()[name] = value
    return value


__all__ = [
    "ConfigError",
    "EmbeddingModel",
    "EmbeddingModelConfig",
    "EmbedpipeError",
    "ExportError",
    "MiningFunction",
    "ModelSourceError",
    "ONNXPipeline",
    "ONNXPipelineConfig",
    "PluginError",
    "UnsupportedModelError",
    "ValidationError",
    "hookimpl",
]
