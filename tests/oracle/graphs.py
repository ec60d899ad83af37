"""Small hand-made graphs that break one Oracle rule each (and one that keeps them all)."""

from __future__ import annotations

from pathlib import Path

import onnx
from onnx import TensorProto, helper


def _save(model: onnx.ModelProto, folder: Path, name: str) -> Path:
    path = folder / f"{name}.onnx"
    onnx.save_model(model, str(path))
    return path


def string_graph(
    folder: Path, name: str = "ok", *, dimension: int = 4, input_shape: list | None = None, custom_op: str | None = None
) -> Path:
    """input: string [1] -> embedding: float32 [1, dimension] (the input's element count, repeated)."""
    nodes = []
    source = "input"
    if custom_op:
        nodes.append(helper.make_node(custom_op, ["input"], ["custom"], domain="ai.onnx.contrib"))
        source = "custom"
    nodes += [
        helper.make_node("Size", [source], ["size"]),
        helper.make_node("Cast", ["size"], ["length"], to=TensorProto.FLOAT),
        helper.make_node(
            "Constant", [], ["ones"], value=helper.make_tensor("ones", TensorProto.FLOAT, [1, dimension], [1.0] * dimension)
        ),
        helper.make_node("Mul", ["ones", "length"], ["embedding"]),
    ]
    graph = helper.make_graph(
        nodes,
        name,
        [helper.make_tensor_value_info("input", TensorProto.STRING, input_shape or [1])],
        [helper.make_tensor_value_info("embedding", TensorProto.FLOAT, [1, dimension])],
    )
    return _save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=8), folder, name)


def encoder_graph(folder: Path) -> Path:
    """A bare encoder: int64 input_ids [batch, sequence] -> float32 [batch, 4]."""
    graph = helper.make_graph(
        [
            helper.make_node("Cast", ["input_ids"], ["ids"], to=TensorProto.FLOAT),
            helper.make_node("ReduceMean", ["ids"], ["mean"], axes=[1], keepdims=1),
            helper.make_node("Tile", ["mean", "repeats"], ["embedding"]),
        ],
        "encoder",
        [helper.make_tensor_value_info("input_ids", TensorProto.INT64, ["batch", "sequence"])],
        [helper.make_tensor_value_info("embedding", TensorProto.FLOAT, ["batch", 4])],
        [helper.make_tensor("repeats", TensorProto.INT64, [2], [1, 4])],
    )
    return _save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=8), folder, "encoder")
