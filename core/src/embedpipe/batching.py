"""The batched client-side graph: string [N] -> float32 [N, ...] from a composed single-string graph.

Every tokenizer stage is written for one string, and Oracle only ever calls the single-string
graph, so batching is a transform of the finished graph rather than a second tokenizer per plugin.
Two standard ``Loop`` nodes do it:

1. the tokenizer's nodes, unchanged, run once per string; each string's ids are padded to
   ``max_length`` and its token count kept;
2. the strings are ordered by token count (``TopK``) and the rest of the graph (encoder, pooler,
   post-processors) runs on chunks of ``chunk`` neighbours in that order, each chunk cut to its own
   longest string; every chunk's rows are scattered back to their strings' places.

Why chunks of similar length rather than one padded batch: on a CPU the encoder's cost is per
position, padded or not, and a batch of real text in the caller's order is mostly padding (512
real lines, batches of 64: 55k positions for 28k tokens; sentence-transformers' own length-sorted
batches still 45k). Chunks of 16 strings of similar length keep the matrix products large enough
to be efficient and the padding near zero, whatever order the caller sends. Padded positions
carry attention mask 0, which the encoder and the poolers honour, so each row is the
single-string graph's vector for that string. With ``chunk=1`` nothing is padded at all: each
row is computed exactly as the single-string graph computes it (what INT8's per-batch dynamic
scales need). For chunks of more than one the encoder must have been exported with a dynamic batch
axis.

One input is batched: an embedding graph's ``input``, a reranker's ``second_input`` (its passages).
The graph's other inputs keep their one string, which the tokenizer reads from the outer graph on
every iteration, so a reranker scores one query against N passages (pair i is (query, passage i)).
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from embedpipe import contract
from embedpipe.errors import ExportError
from embedpipe.graph import node_reads

BATCH = "batch"
DEFAULT_CHUNK = 16  # strings per encoder run; see the module docstring and bench/bench_batch.py
_PREFIX = "batch_loop/"


def batched(model: onnx.ModelProto, max_length: int, chunk: int = DEFAULT_CHUNK, over: str = contract.TEXT) -> onnx.ModelProto:
    """A copy of the single-string ``model`` whose input ``over`` takes string [N]; [N, ...] per output.

    The other inputs stay string [1]: each row is the single-string graph's for them and string i.
    """
    if chunk < 1:
        raise ExportError(f"batch chunk {chunk} is not a positive number of strings", "use 1 or more")
    result = onnx.ModelProto()
    result.CopyFrom(model)
    graph = result.graph
    produced = {name for node in graph.node for name in node.output}
    id_names = [name for name in contract.TOKENIZER_OUTPUTS if name in produced]
    if contract.INPUT_IDS not in id_names or contract.ATTENTION_MASK not in id_names:
        raise ExportError("the graph has no tokenizer outputs to batch", "batch a graph that embedpipe composed")
    tokenizer_nodes = _ancestors(graph, id_names)
    if over not in _outer_inputs(tokenizer_nodes):
        raise ExportError(f"the tokenizer stage does not read the graph's input {over!r}", "batch a graph that embedpipe composed")
    moved = {id(node) for node in tokenizer_nodes}
    # What the outputs need beyond the tokenizer; a node nothing reads (a stage may leave one) stays out.
    rest = [node for node in _ancestors(graph, [output.name for output in graph.output]) if id(node) not in moved]
    if _outer_inputs(rest) & {value.name for value in graph.input}:
        raise ExportError("a stage after the tokenizer reads an input string", "batch a graph that embedpipe composed")
    outputs = list(graph.output)
    padded = [_name(f"padded_{name}") for name in id_names]
    lengths, order = _name("lengths"), _name("order")
    count, count_1d = _name("count"), _name("count_1d")
    front = [
        helper.make_node("Shape", [over], [count_1d]),
        helper.make_node("Squeeze", [count_1d], [count]),
        helper.make_node(
            "Loop",
            [count, ""],
            [*padded, _name("lengths_2d")],
            body=_tokenize_body(tokenizer_nodes, id_names, max_length, graph, over),
            name=_name("tokenize_each"),
        ),
        _constant("minus_one", np.array([-1], dtype=np.int64)),
        helper.make_node("Reshape", [_name("lengths_2d"), _name("minus_one")], [lengths]),
        helper.make_node("TopK", [lengths, count_1d], [_name("sorted_lengths"), order], axis=0, largest=1, sorted=1),
        _constant("chunk", np.array(chunk, dtype=np.int64)),
        _constant("chunk_less_one", np.array(chunk - 1, dtype=np.int64)),
        helper.make_node("Add", [count, _name("chunk_less_one")], [_name("count_up")]),
        helper.make_node("Div", [_name("count_up"), _name("chunk")], [_name("chunks")]),
    ]
    carried = []
    for output in outputs:
        front.extend(_zeros_like_rows(output, count_1d))
        carried.append(_name(f"empty_{output.name}"))
    loop = helper.make_node(
        "Loop",
        [_name("chunks"), "", *carried],
        [output.name for output in outputs],
        body=_embed_body(rest, id_names, padded, lengths, order, count, outputs, graph),
        name=_name("embed_chunks"),
    )
    del graph.node[:]
    graph.node.extend([*front, loop])
    del graph.value_info[:]  # every node now sits in a body, which carries its own shapes
    _set_batch_dim(next(value for value in graph.input if value.name == over))
    for output in graph.output:
        _set_batch_dim(output)
    onnx.checker.check_model(result)
    return result


def _name(local: str) -> str:
    return f"{_PREFIX}{local}"


def _constant(local: str, value: np.ndarray) -> onnx.NodeProto:
    return helper.make_node("Constant", [], [_name(local)], value=numpy_helper.from_array(value, _name(local)))


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
        pending.extend(node_reads(node))
    return [node for node in graph.node if id(node) in wanted]


def _outer_inputs(nodes: list[onnx.NodeProto]) -> set[str]:
    made = {out for node in nodes for out in node.output}
    return {name for node in nodes for name in node_reads(node) if name not in made}


def _renamed(nodes: list[onnx.NodeProto], names: dict[str, str]) -> list[onnx.NodeProto]:
    """Copies of ``nodes`` with the inputs and outputs in ``names`` renamed (names local to a body)."""
    copies = []
    for node in nodes:
        copy = onnx.NodeProto()
        copy.CopyFrom(node)
        copy.input[:] = [names.get(name, name) for name in copy.input]
        copy.output[:] = [names.get(name, name) for name in copy.output]
        copies.append(copy)
    return copies


def _loop_inputs() -> list[onnx.ValueInfoProto]:
    return [helper.make_tensor_value_info("iteration", TensorProto.INT64, []), helper.make_tensor_value_info("condition_in", TensorProto.BOOL, [])]


def _tokenize_body(nodes: list[onnx.NodeProto], id_names: list[str], max_length: int, graph: onnx.GraphProto, over: str) -> onnx.GraphProto:
    """Loop body: string ``iteration`` of ``over`` (the other inputs as they are) through the tokenizer nodes,
    each id tensor padded to ``max_length``."""
    text = _name("text")
    one = {name: _name(f"one_{name}") for name in id_names}  # the outer names are the batch's
    steps = [
        helper.make_node("Gather", [over, "iteration"], [_name("text_scalar")], axis=0),
        _constant("axis0", np.array([0], dtype=np.int64)),
        helper.make_node("Unsqueeze", [_name("text_scalar"), _name("axis0")], [text]),
        *_renamed(nodes, {over: text, **one}),
        helper.make_node("Shape", [one[contract.INPUT_IDS]], [_name("shape")]),
        _constant("axis1", np.array([1], dtype=np.int64)),
        helper.make_node("Gather", [_name("shape"), _name("axis1")], [_name("length")], axis=0),
        _constant("max_length", np.array([max_length], dtype=np.int64)),
        helper.make_node("Sub", [_name("max_length"), _name("length")], [_name("missing")]),
        helper.make_node("Concat", [_name("axis0"), _name("missing")], [_name("pads")], axis=0),
        helper.make_node("Identity", ["condition_in"], ["condition_out"]),
    ]
    outputs = [helper.make_tensor_value_info("condition_out", TensorProto.BOOL, [])]
    for name in id_names:
        steps.append(helper.make_node("Squeeze", [one[name], _name("axis0")], [_name(f"flat_{name}")]))
        steps.append(helper.make_node("Pad", [_name(f"flat_{name}"), _name("pads")], [_name(f"row_{name}")], mode="constant"))
        outputs.append(helper.make_tensor_value_info(_name(f"row_{name}"), TensorProto.INT64, [max_length]))
    outputs.append(helper.make_tensor_value_info(_name("length"), TensorProto.INT64, [1]))
    return helper.make_graph(steps, "tokenize_one", _loop_inputs(), outputs, value_info=_declared_shapes(graph, nodes, id_names))


def _embed_body(
    nodes: list[onnx.NodeProto],
    id_names: list[str],
    padded: list[str],
    lengths: str,
    order: str,
    count: str,
    outputs: list[onnx.ValueInfoProto],
    graph: onnx.GraphProto,
) -> onnx.GraphProto:
    """Loop body: the next ``chunk`` strings in length order, cut to their longest, through ``nodes``;
    each output's rows scattered into the carried [N, ...] tensor at their strings' places.

    The body keeps the shapes the composed graph declared for its nodes' values: ONNX Runtime's
    fusions (SkipLayerNormalization among them) need them, and a body fused differently from the
    single-string graph computes slightly different numbers (up to 0.009 apart under INT8).
    """
    start, end = _name("start"), _name("end")
    steps = [
        helper.make_node("Mul", ["iteration", _name("chunk")], [start]),
        helper.make_node("Add", [start, _name("chunk")], [_name("chunk_end")]),
        helper.make_node("Min", [_name("chunk_end"), count], [end]),
        _constant("step", np.array(1, dtype=np.int64)),
        helper.make_node("Range", [start, end, _name("step")], [_name("positions")]),
        helper.make_node("Gather", [order, _name("positions")], [_name("rows")], axis=0),
        helper.make_node("Gather", [lengths, _name("rows")], [_name("chunk_lengths")], axis=0),
        helper.make_node("ReduceMax", [_name("chunk_lengths")], [_name("longest")], keepdims=1),
        _constant("zero", np.array([0], dtype=np.int64)),
        _constant("one", np.array([1], dtype=np.int64)),
        helper.make_node("Unsqueeze", [_name("rows"), _name("one")], [_name("row_indices")]),
        helper.make_node("Identity", ["condition_in"], ["condition_out"]),
    ]
    for source, name in zip(padded, id_names):
        steps.append(helper.make_node("Gather", [source, _name("rows")], [_name(f"chunk_{name}")], axis=0))
        steps.append(helper.make_node("Slice", [_name(f"chunk_{name}"), _name("zero"), _name("longest"), _name("one")], [name]))
    local = {output.name: _name(f"chunk_{output.name}") for output in outputs}
    steps.extend(_renamed(nodes, local))
    body_inputs, body_outputs = _loop_inputs(), [helper.make_tensor_value_info("condition_out", TensorProto.BOOL, [])]
    for output in outputs:
        carried_in, carried_out = _name(f"so_far_{output.name}"), _name(f"filled_{output.name}")
        steps.append(helper.make_node("ScatterND", [carried_in, _name("row_indices"), local[output.name]], [carried_out]))
        body_inputs.append(helper.make_tensor_value_info(carried_in, output.type.tensor_type.elem_type, None))
        body_outputs.append(helper.make_tensor_value_info(carried_out, output.type.tensor_type.elem_type, None))
    return helper.make_graph(steps, "embed_chunk", body_inputs, body_outputs, value_info=_declared_shapes(graph, nodes, local))


def _declared_shapes(graph: onnx.GraphProto, nodes: list[onnx.NodeProto], renamed: Iterable[str]) -> list[onnx.ValueInfoProto]:
    """The shapes ``graph`` declares for what ``nodes`` make, for the body they move into; ``renamed``
    values get other names there and are left out."""
    made = {out for node in nodes for out in node.output} - set(renamed)
    return [value for value in graph.value_info if value.name in made]


def _zeros_like_rows(output: onnx.ValueInfoProto, count_1d: str) -> list[onnx.NodeProto]:
    """Nodes making ``empty_<output>``: zeros [N, ...] of the output's type, which the chunks fill in."""
    dims = output.type.tensor_type.shape.dim[1:]
    if any(not dim.HasField("dim_value") for dim in dims):
        raise ExportError(f"graph output {output.name!r} has a non-batch dimension of unknown size", "batch a graph that embedpipe composed")
    zero = np.zeros(1, dtype=onnx.helper.tensor_dtype_to_np_dtype(output.type.tensor_type.elem_type))
    shape = _name(f"shape_{output.name}")
    return [
        _constant(f"row_dims_{output.name}", np.array([dim.dim_value for dim in dims], dtype=np.int64)),
        helper.make_node("Concat", [count_1d, _name(f"row_dims_{output.name}")], [shape], axis=0),
        helper.make_node("ConstantOfShape", [shape], [_name(f"empty_{output.name}")], value=numpy_helper.from_array(zero)),
    ]


def _set_batch_dim(value: onnx.ValueInfoProto) -> None:
    dims = value.type.tensor_type.shape.dim
    if dims:
        dims[0].ClearField("dim_value")
        dims[0].dim_param = BATCH
