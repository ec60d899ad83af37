"""SmoothQuant and float arithmetic on int8 weights, on a two-MatMul graph held to numpy's own products."""

from __future__ import annotations

import numpy as np
import onnx
from embedpipe.runtime import open_session
from embedpipe_quantize.smooth import activation_ranges, smooth
from embedpipe_quantize.weightonly import dequantized_weights
from onnx import TensorProto, helper, numpy_helper

RNG = np.random.default_rng(0)
W1 = RNG.normal(size=(8, 16)).astype(np.float32)
W2 = RNG.normal(size=(16, 4)).astype(np.float32)
SPIKY = np.array([1, 1, 60, 1, 1, 1, 0.5, 1], dtype=np.float32)  # one outlier channel, as LayerNorm outputs have


def two_matmuls() -> onnx.ModelProto:
    """x [1, S, 8] -> MatMul W1 -> Relu -> MatMul W2 -> y [1, S, 4]."""
    nodes = [
        helper.make_node("MatMul", ["x", "w1"], ["h"], name="first"),
        helper.make_node("Relu", ["h"], ["r"], name="relu"),
        helper.make_node("MatMul", ["r", "w2"], ["y"], name="second"),
    ]
    graph = helper.make_graph(
        nodes,
        "two",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, None, 8])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, None, 4])],
        [numpy_helper.from_array(W1, "w1"), numpy_helper.from_array(W2, "w2")],
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=8)


def feeds(count: int = 6) -> list[dict[str, np.ndarray]]:
    return [{"x": (RNG.normal(size=(1, 5, 8)) * SPIKY).astype(np.float32)} for _ in range(count)]


def numpy_output(x: np.ndarray) -> np.ndarray:
    return np.maximum(x @ W1, 0) @ W2


def test_smoothing_computes_the_same_and_evens_the_input_channels() -> None:
    data = feeds()
    smoothed = smooth(two_matmuls(), data, alpha=0.7)
    session = open_session(smoothed)
    for feed in data:
        np.testing.assert_allclose(session.run(None, feed)[0], numpy_output(feed["x"]), rtol=1e-4, atol=1e-4)
    before = activation_ranges(two_matmuls(), ["x"], data)["x"]
    after = activation_ranges(smoothed, ["x/smoothed"], data)["x/smoothed"]
    assert after.max() / after.min() < before.max() / before.min() / 5
    assert [n.op_type for n in smoothed.graph.node].count("Mul") == 2  # one division per distinct MatMul input


def test_skipped_nodes_are_not_smoothed() -> None:
    smoothed = smooth(two_matmuls(), feeds(), alpha=0.7, skip={"second"})
    second = next(n for n in smoothed.graph.node if n.name == "second")
    assert second.input[0] == "r" and [n.op_type for n in smoothed.graph.node].count("Mul") == 1


def test_float_arithmetic_on_int8_weights_stays_within_weight_rounding() -> None:
    model = dequantized_weights(two_matmuls(), {"first"})
    types = {t.name: t.data_type for t in model.graph.initializer}
    assert types["w1_int8"] == TensorProto.INT8 and "w1" not in types and types["w2"] == TensorProto.FLOAT
    onnx.checker.check_model(model)
    session = open_session(model)
    for feed in feeds():
        want = numpy_output(feed["x"])
        got = session.run(None, feed)[0]
        assert np.abs(got - want).max() <= 0.02 * np.abs(want).max()  # 255 levels per column of W1
