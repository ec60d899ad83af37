"""SmoothQuant: move each quantized MatMul input's outlier channels into its weight rows, exactly, before INT8.

Dynamic quantization scales a MatMul's input with one number per call, so the few channels of a
transformer's LayerNorm outputs that carry large values leave the other channels a handful of
levels. Dividing input channel j by s_j and multiplying weight row j by s_j computes the same
product in float; s_j = amax_j^alpha / wmax_j^(1 - alpha), from the inputs' per-channel ranges on
real text, evens the input's range at the weight's (per-channel quantized) expense. The division
is one standard ``Mul`` per distinct input, placed right after the input's producer.
"""

from __future__ import annotations

import copy
from collections.abc import Collection, Mapping, Sequence

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

SMALLEST = 1e-5
SCALE_RANGE = (1e-3, 1e3)  # never move more than a thousandfold: the weight would lose what the input gains


def weighted_matmuls(model: onnx.ModelProto) -> list[onnx.NodeProto]:
    """The MatMuls whose second input is a 2-D float initializer: what INT8 stores as integers."""
    weights = {t.name for t in model.graph.initializer if len(t.dims) == 2 and t.data_type == TensorProto.FLOAT}
    return [n for n in model.graph.node if n.op_type == "MatMul" and n.input[1] in weights]


def activation_ranges(model: onnx.ModelProto, tensors: Sequence[str], feeds: Sequence[Mapping[str, np.ndarray]]) -> dict[str, np.ndarray]:
    """The per-channel (last axis) max |value| of each tensor over the feeds, in the float graph."""
    from embedpipe.runtime import open_session

    probe = copy.deepcopy(model)
    probe.graph.output.extend(helper.make_tensor_value_info(t, TensorProto.FLOAT, None) for t in tensors)
    session = open_session(probe)
    names = {i.name for i in session.get_inputs()}
    ranges: dict[str, np.ndarray] = {}
    for feed in feeds:
        values = session.run(list(tensors), {k: v for k, v in feed.items() if k in names})
        for tensor, value in zip(tensors, values):
            top = np.abs(value).reshape(-1, value.shape[-1]).max(axis=0)
            ranges[tensor] = np.maximum(ranges[tensor], top) if tensor in ranges else top
    return ranges


def smooth(model: onnx.ModelProto, feeds: Sequence[Mapping[str, np.ndarray]], alpha: float, skip: Collection[str] = ()) -> onnx.ModelProto:
    """A copy of ``model`` computing the same in float, with its weighted MatMuls' inputs evened out (``skip``: node names left alone)."""
    model = copy.deepcopy(model)
    initializers = {t.name: t for t in model.graph.initializer}
    groups: dict[str, list[onnx.NodeProto]] = {}
    for node in weighted_matmuls(model):
        if node.name not in skip:
            groups.setdefault(node.input[0], []).append(node)
    ranges = activation_ranges(model, list(groups), feeds)
    divisions: dict[str, onnx.NodeProto] = {}
    for tensor, nodes in groups.items():
        weights = [numpy_helper.to_array(initializers[n.input[1]]) for n in nodes]
        weight_range = np.max([np.abs(w).max(axis=1) for w in weights], axis=0)
        scale = np.maximum(ranges[tensor], SMALLEST) ** alpha / np.maximum(weight_range, SMALLEST) ** (1 - alpha)
        scale = np.clip(scale, *SCALE_RANGE).astype(np.float32)
        smoothed = f"{tensor}/smoothed"
        for node, weight in zip(nodes, weights):
            initializers[node.input[1]].CopyFrom(numpy_helper.from_array((weight * scale[:, None]).astype(np.float32), node.input[1]))
            node.input[0] = smoothed
        inverse = numpy_helper.from_array((1 / scale).astype(np.float32), f"{tensor}/smoothing")
        model.graph.initializer.append(inverse)
        divisions[tensor] = helper.make_node("Mul", [tensor, inverse.name], [smoothed], name=f"{tensor}/smooth")
    ordered = [divisions.pop(name) for name in [i.name for i in model.graph.input] if name in divisions]
    for node in model.graph.node:
        ordered.append(node)
        ordered.extend(divisions.pop(out) for out in node.output if out in divisions)
    del model.graph.node[:]
    model.graph.node.extend(ordered)
    return model
