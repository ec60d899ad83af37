"""The public toolkit for writing stage graphs: signatures, constants, mask and reduction helpers.

Every pooler and post-processor, first-party or not, builds its stage from these, so a stage
honours the contract's signature (``embedpipe.contract``) and the opset spelling rules in one way.

Batch axis: a stage declares batch 1, the single-string graph Oracle calls (its ``embedding``
output is declared [1, D] from the last stage's declaration). The batched client graph
(``embedpipe.batching``) runs the same nodes, without the declared shapes, on [N, S, H] with a
padded ``attention_mask`` [N, S]; so nodes must work row by row for any N (no Squeeze/Reshape of
axis 0, reductions over axis 1 or -1 only). ``with_batch_axis`` makes a stage runnable on such a
batch alone, to test exactly that.

Names: composition prefixes every name that is not a contract name per stage, so helper names
only need to be unique within one stage; a helper that makes several tensors takes the name of its
output and derives the others from it, or uses fixed names documented below, once per stage.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import onnx
from onnx import NodeProto, TensorProto, helper, numpy_helper

from embedpipe import contract

__all__ = [
    "BATCH",
    "REDUCE_AXES_AS_INPUT_OPSET",
    "SEQUENCE",
    "constant",
    "pooler_stage",
    "postprocess_stage",
    "reduce",
    "scalar",
    "stage_model",
    "token_at",
    "unsqueezed_mask",
    "with_batch_axis",
]

SEQUENCE = "sequence"  # the symbolic token axis of a stage's inputs
BATCH = "batch"  # the symbolic batch axis the batched graph gives (see with_batch_axis)
# From ai.onnx opset 18 every Reduce* op takes its axes as an input, not an attribute (ReduceSum since 13).
REDUCE_AXES_AS_INPUT_OPSET = 18


def stage_model(
    graph: onnx.GraphProto, opset: int, *, producer: str, extra_opsets: Mapping[str, int] | None = None
) -> onnx.ModelProto:
    """Wrap a stage graph as a standalone model at the contract's IR version, checked by ONNX.

    ``extra_opsets`` imports other domains (e.g. ``ai.onnx.contrib`` for a tokenizer op); ONNX's
    full check (shape inference) then runs without them, since it does not know their ops.
    """
    imports = [helper.make_opsetid("", opset)] + [helper.make_opsetid(d, v) for d, v in (extra_opsets or {}).items()]
    model = helper.make_model(graph, opset_imports=imports, ir_version=contract.DEFAULT_IR_VERSION, producer_name=producer)
    onnx.checker.check_model(model, full_check=not extra_opsets)
    return model


def pooler_stage(
    name: str,
    nodes: Sequence[NodeProto],
    hidden_size: int,
    opset: int,
    *,
    producer: str,
    initializers: Sequence[TensorProto] = (),
) -> onnx.ModelProto:
    """``token_embeddings`` [1, S, H] + ``attention_mask`` [1, S] -> ``sentence_embedding`` [1, H]."""
    inputs = [
        helper.make_tensor_value_info(contract.TOKEN_EMBEDDINGS, TensorProto.FLOAT, [1, SEQUENCE, hidden_size]),
        helper.make_tensor_value_info(contract.ATTENTION_MASK, TensorProto.INT64, [1, SEQUENCE]),
    ]
    output = helper.make_tensor_value_info(contract.SENTENCE_EMBEDDING, TensorProto.FLOAT, [1, hidden_size])
    graph = helper.make_graph(list(nodes), name, inputs, [output], initializer=list(initializers))
    return stage_model(graph, opset, producer=producer)


def postprocess_stage(
    name: str,
    nodes: Sequence[NodeProto],
    input_dim: int,
    output_dim: int,
    opset: int,
    *,
    producer: str,
    initializers: Sequence[TensorProto] = (),
) -> onnx.ModelProto:
    """``features_in`` [1, input_dim] -> ``features_out`` [1, output_dim]."""
    graph = helper.make_graph(
        list(nodes),
        name,
        [helper.make_tensor_value_info(contract.POSTPROCESS_INPUT, TensorProto.FLOAT, [1, input_dim])],
        [helper.make_tensor_value_info(contract.POSTPROCESS_OUTPUT, TensorProto.FLOAT, [1, output_dim])],
        initializer=list(initializers),
    )
    return stage_model(graph, opset, producer=producer)


def with_batch_axis(stage: onnx.ModelProto) -> onnx.ModelProto:
    """A copy of ``stage`` whose inputs and outputs declare axis 0 as ``batch``, as the batched graph
    feeds it: run it on [N, ...] to check that each row is computed on its own."""
    relaxed = onnx.ModelProto()
    relaxed.CopyFrom(stage)
    for value in (*relaxed.graph.input, *relaxed.graph.output):
        dims = value.type.tensor_type.shape.dim
        if dims:
            dims[0].dim_param = BATCH
    return relaxed


def constant(name: str, value: np.ndarray) -> NodeProto:
    """A ``Constant`` node holding ``value`` (its dtype is kept), so a stage needs no initializer list."""
    return helper.make_node("Constant", [], [name], value=numpy_helper.from_array(value, name))


def scalar(name: str, value: float) -> NodeProto:
    """A float32 scalar ``Constant`` node, for the constants of an element-wise formula."""
    return constant(name, np.array(value, np.float32))


def unsqueezed_mask(output: str, dtype: int) -> list[NodeProto]:
    """``attention_mask`` [N, S] as ``output`` [N, S, 1] of ``dtype`` (a ``TensorProto`` type), to
    broadcast over the hidden axis. Makes ``mask_axes`` and ``mask_3d`` too."""
    return [
        constant("mask_axes", np.array([-1], dtype=np.int64)),
        helper.make_node("Unsqueeze", [contract.ATTENTION_MASK, "mask_axes"], ["mask_3d"]),
        helper.make_node("Cast", ["mask_3d"], [output], to=dtype),
    ]


def reduce(op_type: str, data: str, output: str, *, axis: int, opset: int, keepdims: int) -> list[NodeProto]:
    """``op_type`` (``ReduceMax``, ``ReduceMin``, ``ReduceMean``, ...) over one axis, its axes spelt as
    ``opset`` wants them: an attribute before 18, an input (``<output>_axes``) from 18 on, and always
    an input for ``ReduceSum``."""
    if opset < REDUCE_AXES_AS_INPUT_OPSET and op_type != "ReduceSum":
        return [helper.make_node(op_type, [data], [output], axes=[axis], keepdims=keepdims)]
    axes = f"{output}_axes"
    return [
        constant(axes, np.array([axis], dtype=np.int64)),
        helper.make_node(op_type, [data, axes], [output], keepdims=keepdims),
    ]


def token_at(embeddings: str, index: str) -> list[NodeProto]:
    """``sentence_embedding`` [N, H]: for each row of ``embeddings`` [N, S, H] the position ``index`` [N] names.

    A one-hot mask over the positions rather than a Gather, so that a batch picks one position per
    row. Makes tensors named ``pick_*``.
    """
    return [
        helper.make_node("Shape", [embeddings], ["pick_shape"]),
        constant("pick_zero", np.array(0, dtype=np.int64)),
        constant("pick_one", np.array(1, dtype=np.int64)),
        helper.make_node("Gather", ["pick_shape", "pick_one"], ["pick_length"], axis=0),
        helper.make_node("Range", ["pick_zero", "pick_length", "pick_one"], ["pick_positions"]),
        constant("pick_axis", np.array([1], dtype=np.int64)),
        helper.make_node("Unsqueeze", [index, "pick_axis"], ["pick_column"]),
        helper.make_node("Equal", ["pick_positions", "pick_column"], ["pick_hit"]),
        helper.make_node("Cast", ["pick_hit"], ["pick_hit_f"], to=TensorProto.FLOAT),
        constant("pick_hidden_axis", np.array([-1], dtype=np.int64)),
        helper.make_node("Unsqueeze", ["pick_hit_f", "pick_hidden_axis"], ["pick_weights"]),
        helper.make_node("Mul", [embeddings, "pick_weights"], ["picked"]),
        helper.make_node("ReduceSum", ["picked", "pick_axis"], [contract.SENTENCE_EMBEDDING], keepdims=0),
    ]
