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
    folder: Path,
    name: str = "ok",
    *,
    dimension: int = 4,
    input_shape: list | None = None,
    custom_op: str | None = None,
    tail: str | None = None,
    tail_in_loop: bool = False,
) -> Path:
    """input: string [1] -> embedding: float32 [1, dimension] (the input's element count, repeated).

    ``tail`` ("domain::Op", float in, float out of the same shape) is applied to the vector last,
    inside a one-trip Loop's body when ``tail_in_loop``: a graph whose only op of that domain is
    in a subgraph, as the tokenizer stages' ops are.
    """
    nodes = []
    source = "input"
    if custom_op:
        nodes.append(helper.make_node(custom_op, ["input"], ["custom"], domain="ai.onnx.contrib"))
        source = "custom"
    vector = "scaled" if tail else "embedding"
    nodes += [
        helper.make_node("Size", [source], ["size"]),
        helper.make_node("Cast", ["size"], ["length"], to=TensorProto.FLOAT),
        helper.make_node(
            "Constant", [], ["ones"], value=helper.make_tensor("ones", TensorProto.FLOAT, [1, dimension], [1.0] * dimension)
        ),
        helper.make_node("Mul", ["ones", "length"], [vector]),
    ]
    opsets = [helper.make_opsetid("", 17)]
    if tail:
        domain, op = tail.split("::")
        opsets.append(helper.make_opsetid(domain, 3 if domain == "ai.onnx.ml" else 1))
        if tail_in_loop:
            nodes += _loop_once([helper.make_node(op, ["carried"], ["changed"], domain=domain)], vector, dimension)
        else:
            nodes.append(helper.make_node(op, [vector], ["embedding"], domain=domain))
    graph = helper.make_graph(
        nodes,
        name,
        [helper.make_tensor_value_info("input", TensorProto.STRING, input_shape or [1])],
        [helper.make_tensor_value_info("embedding", TensorProto.FLOAT, [1, dimension])],
    )
    return _save(helper.make_model(graph, opset_imports=opsets, ir_version=8), folder, name)


def _loop_once(body_nodes: list[onnx.NodeProto], source: str, dimension: int) -> list[onnx.NodeProto]:
    """Nodes running ``body_nodes`` (reading "carried", writing "changed") once on ``source``, giving "embedding"."""
    vector = [1, dimension]
    body = helper.make_graph(
        [*body_nodes, helper.make_node("Identity", ["condition"], ["condition_out"])],
        "body",
        [
            helper.make_tensor_value_info("iteration", TensorProto.INT64, []),
            helper.make_tensor_value_info("condition", TensorProto.BOOL, []),
            helper.make_tensor_value_info("carried", TensorProto.FLOAT, vector),
        ],
        [
            helper.make_tensor_value_info("condition_out", TensorProto.BOOL, []),
            helper.make_tensor_value_info("changed", TensorProto.FLOAT, vector),
        ],
    )
    return [
        helper.make_node("Constant", [], ["trips"], value=helper.make_tensor("trips", TensorProto.INT64, [], [1])),
        helper.make_node("Loop", ["trips", "", source], ["embedding"], body=body),
    ]


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
