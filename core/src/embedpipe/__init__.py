"""embedpipe: Hugging Face text-embedding models as one string-in, vector-out ONNX graph.

The public API keeps the names OML4Py users know: ``ONNXPipeline``/``ONNXPipelineConfig`` and
their aliases ``EmbeddingModel``/``EmbeddingModelConfig``.
"""

from embedpipe.config import ONNXPipelineConfig
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
from embedpipe.pipeline import ONNXPipeline

EmbeddingModel = ONNXPipeline
EmbeddingModelConfig = ONNXPipelineConfig

__all__ = [
    "ConfigError",
    "EmbeddingModel",
    "EmbeddingModelConfig",
    "EmbedpipeError",
    "ExportError",
    "ModelSourceError",
    "ONNXPipeline",
    "ONNXPipelineConfig",
    "PluginError",
    "UnsupportedModelError",
    "ValidationError",
    "hookimpl",
]
