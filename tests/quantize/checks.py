"""Assertions every quantized graph must pass, shared by the INT8 and FP16 tests."""

from __future__ import annotations

import numpy as np
import onnx
from onnx import TensorProto


def stage_nodes(model: onnx.ModelProto, prefix: str) -> list[bytes]:
    return [node.SerializeToString() for node in model.graph.node if node.name.startswith(prefix)]


def stage_initializers(model: onnx.ModelProto, prefix: str) -> dict[str, bytes]:
    return {t.name: t.SerializeToString() for t in model.graph.initializer if t.name.startswith(prefix)}


def assert_tokenizer_untouched(quantized: onnx.ModelProto, fp32: onnx.ModelProto) -> None:
    """The tokenizer stage's nodes and tables are byte-for-byte those of the fp32 graph; IO types unchanged."""
    assert stage_nodes(quantized, "tokenizer/") == stage_nodes(fp32, "tokenizer/") != []
    assert stage_initializers(quantized, "tokenizer/") == stage_initializers(fp32, "tokenizer/")
    (text,) = quantized.graph.input
    (embedding,) = quantized.graph.output
    assert (text.name, text.type.tensor_type.elem_type) == ("input", TensorProto.STRING)
    assert (embedding.name, embedding.type.tensor_type.elem_type) == ("embedding", TensorProto.FLOAT)


def cosines(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return (a * b).sum(axis=1) / (np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1))
