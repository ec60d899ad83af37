"""The batched client-side graph: string [N] -> float32 [N, D] from a composed single-string graph.

Every tokenizer stage is written for one string, and Oracle only ever calls the single-string
graph, so batching is a transform of the finished graph rather than a second tokenizer per plugin:
the tokenizer's nodes move, unchanged, into the body of a standard ``Loop`` that runs them once per
string and pads each string's ids to ``max_length``; the ids are then cut to the longest string in
the batch and the rest of the graph (encoder, pooler, post-processors) runs once on the whole
batch. Padded positions carry attention mask 0, which the encoder and the poolers already honour,
so each row is the single-string graph's vector for that string. The encoder must have been
exported with a dynamic batch axis.
"""

from __future__ import annotations

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from embedpipe import contract
from embedpipe.errors import ExportError

BATCH = "batch"
_BODY = "batch_loop/"


def batched(model: onnx.ModelProto, max_length: int) -> onnx.ModelProto:
    """A copy of the single-string ``model`` that takes ``input`` string [N] and gives [N, D]."""
    result = onnx.ModelProto()
    result.CopyFrom(model)
    graph = result.graph
    produced = {name for node in graph.node for name in node.output}
    id_names = [name for name in contract.TOKENIZER_OUTPUTS if name in produced]
    if contract.INPUT_IDS not in id_names or contract.ATTENTION_MASK not in id_names:
        raise ExportError("the graph has no tokenizer outputs to batch", "batch a graph that embedpipe composed")
    tokenizer_nodes = _ancestors(graph, id_names)
    loop_inputs = _outer_inputs(tokenizer_nodes)
    if contract.TEXT not in loop_inputs:
        raise ExportError("the tokenizer stage does not read the graph's input", "batch a graph that embedpipe composed")
    kept = [node for node in graph.node if id(node) not in {id(n) for n in tokenizer_nodes}]
    body = _loop_body(tokenizer_nodes, id_names, max_length, graph)
    padded = [f"{_BODY}padded_{name}" for name in id_names]
    lengths = f"{_BODY}lengths"
    front = [
        helper.make_node("Shape", [contract.TEXT], [f"{_BODY}count_1d"]),
        helper.make_node("Squeeze", [f"{_BODY}count_1d"], [f"{_BODY}count"]),
        helper.make_node("Loop", [f"{_BODY}count", ""], [*padded, lengths], body=body, name=f"{_BODY}tokenize_each"),
        helper.make_node("ReduceMax", [lengths], [f"{_BODY}longest_2d"], keepdims=1),
        _constant(f"{_BODY}one_dim", np.array([1], dtype=np.int64)),
        helper.make_node("Reshape", [f"{_BODY}longest_2d", f"{_BODY}one_dim"], [f"{_BODY}longest"]),
        _constant(f"{_BODY}zero", np.array([0], dtype=np.int64)),
        *[
            helper.make_node("Slice", [source, f"{_BODY}zero", f"{_BODY}longest", f"{_BODY}one_dim"], [name])
            for source, name in zip(padded, id_names)
        ],
    ]
    del graph.node[:]
    graph.node.extend(front + kept)
    moved = {name for node in tokenizer_nodes for name in node.output}
    infos = [v for v in graph.value_info if v.name not in moved]
    del graph.value_info[:]
    graph.value_info.extend(infos)
    _set_batch_dim(graph.input[0])
    for output in graph.output:
        _set_batch_dim(output)
    onnx.checker.check_model(result)
    return result


def _ancestors(graph: onnx.GraphProto, names: list[str]) -> list[onnx.NodeProto]:
    """The nodes ``names`` depend on, in graph order."""
    producer = {out: node for node in graph.node for out in node.output}
    wanted: set[int] = set()
    pending = list(names)
    while pending:
        node = producer.get(pending.pop())
        if node is None or id(node) in wanted:
            continue
        wanted.add(id(node))
        pending.extend(n for n in node.input if n)
        pending.extend(_subgraph_reads(node))
    return [node for node in graph.node if id(node) in wanted]


def _subgraph_reads(node: onnx.NodeProto) -> list[str]:
    """Outer-scope names a node's subgraphs read (an If or Loop inside a tokenizer stage)."""
    reads: list[str] = []
    for attribute in node.attribute:
        graphs = [attribute.g] if attribute.type == onnx.AttributeProto.GRAPH else list(attribute.graphs)
        for sub in graphs:
            local = {v.name for v in sub.input} | {t.name for t in sub.initializer}
            local |= {out for inner in sub.node for out in inner.output}
            reads.extend(n for inner in sub.node for n in (*inner.input, *_subgraph_reads(inner)) if n and n not in local)
    return reads


def _outer_inputs(nodes: list[onnx.NodeProto]) -> set[str]:
    made = {out for node in nodes for out in node.output}
    return {name for node in nodes for name in (*node.input, *_subgraph_reads(node)) if name and name not in made}


def _loop_body(nodes: list[onnx.NodeProto], id_names: list[str], max_length: int, graph: onnx.GraphProto) -> onnx.GraphProto:
    """Loop body: string ``i`` through the tokenizer nodes, each id tensor padded to ``max_length``."""
    text = f"{_BODY}text"
    renamed = []
    for node in nodes:
        copy = onnx.NodeProto()
        copy.CopyFrom(node)
        copy.input[:] = [text if name == contract.TEXT else _inner(name, id_names) for name in copy.input]
        copy.output[:] = [_inner(name, id_names) for name in copy.output]
        renamed.append(copy)
    steps = [
        helper.make_node("Gather", [contract.TEXT, "iteration"], [f"{_BODY}text_scalar"], axis=0),
        _constant(f"{_BODY}axis0", np.array([0], dtype=np.int64)),
        helper.make_node("Unsqueeze", [f"{_BODY}text_scalar", f"{_BODY}axis0"], [text]),
        *renamed,
        helper.make_node("Shape", [_inner(contract.INPUT_IDS, id_names)], [f"{_BODY}shape"]),
        _constant(f"{_BODY}axis1", np.array([1], dtype=np.int64)),
        helper.make_node("Gather", [f"{_BODY}shape", f"{_BODY}axis1"], [f"{_BODY}length"], axis=0),
        _constant(f"{_BODY}max_length", np.array([max_length], dtype=np.int64)),
        helper.make_node("Sub", [f"{_BODY}max_length", f"{_BODY}length"], [f"{_BODY}missing"]),
        helper.make_node("Concat", [f"{_BODY}axis0", f"{_BODY}missing"], [f"{_BODY}pads"], axis=0),
        helper.make_node("Identity", ["condition_in"], ["condition_out"]),
    ]
    outputs = [helper.make_tensor_value_info("condition_out", TensorProto.BOOL, [])]
    for name in id_names:
        flat = f"{_BODY}flat_{name}"
        steps.append(helper.make_node("Squeeze", [_inner(name, id_names), f"{_BODY}axis0"], [flat]))
        steps.append(helper.make_node("Pad", [flat, f"{_BODY}pads"], [f"{_BODY}row_{name}"], mode="constant"))
        outputs.append(helper.make_tensor_value_info(f"{_BODY}row_{name}", TensorProto.INT64, [max_length]))
    outputs.append(helper.make_tensor_value_info(f"{_BODY}length", TensorProto.INT64, [1]))
    moved = {out for node in nodes for out in node.output}
    return helper.make_graph(
        steps,
        "tokenize_one",
        [helper.make_tensor_value_info("iteration", TensorProto.INT64, []), helper.make_tensor_value_info("condition_in", TensorProto.BOOL, [])],
        outputs,
        value_info=[v for v in graph.value_info if v.name in moved and v.name not in id_names],
    )


def _inner(name: str, id_names: list[str]) -> str:
    """Inside the body the tokenizer's outputs get private names (the outer ones are the cut batch)."""
    return f"{_BODY}one_{name}" if name in id_names else name


def _constant(name: str, value: np.ndarray) -> onnx.NodeProto:
    return helper.make_node("Constant", [], [name], value=numpy_helper.from_array(value, name))


def _set_batch_dim(value: onnx.ValueInfoProto) -> None:
    dims = value.type.tensor_type.shape.dim
    if dims:
        dims[0].ClearField("dim_value")
        dims[0].dim_param = BATCH
