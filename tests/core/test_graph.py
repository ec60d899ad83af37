"""Composition: internal names never collide, contract names wire stages, broken wiring is caught."""

from __future__ import annotations

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from onnx import TensorProto, helper, numpy_helper

from embedpipe import ExportError
from embedpipe.graph import Stage, compose


def _scale_stage(inp: str, out: str, factor: float) -> onnx.ModelProto:
    """x * factor through internal names that every such stage shares ("k", "tmp")."""
    graph = helper.make_graph(
        [helper.make_node("Mul", [inp, "k"], ["tmp"], name="mul"), helper.make_node("Identity", ["tmp"], [out], name="id")],
        "scale",
        [helper.make_tensor_value_info(inp, TensorProto.FLOAT, [1, 3])],
        [helper.make_tensor_value_info(out, TensorProto.FLOAT, [1, 3])],
        initializer=[numpy_helper.from_array(np.array(factor, dtype=np.float32), "k")],
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=8)


def test_stages_with_identical_internal_names_compose_and_run() -> None:
    first = Stage("a/", _scale_stage("features_in", "features_out", 2.0), {"features_in": "x", "features_out": "mid"})
    second = Stage("b/", _scale_stage("features_in", "features_out", 5.0), {"features_in": "mid", "features_out": "y"})
    model = compose([first, second], inputs=["x"], outputs=["y"])
    onnx.checker.check_model(model)
    names = {t.name for t in model.graph.initializer}
    assert names == {"a/k", "b/k"}
    assert {n.name for n in model.graph.node} == {"a/mul", "a/id", "b/mul", "b/id"}
    session = ort.InferenceSession(model.SerializeToString())
    x = np.array([[1.0, 2.0, 3.0]], dtype=np.float32)
    np.testing.assert_allclose(session.run(None, {"x": x})[0], x * 10.0)


def test_missing_contract_name_is_an_export_error() -> None:
    stage = Stage("a/", _scale_stage("features_in", "features_out", 2.0))
    with pytest.raises(ExportError, match="no stage provides or takes embedding"):
        compose([stage], inputs=["features_in"], outputs=["embedding"])


def test_dangling_input_is_caught() -> None:
    first = Stage("a/", _scale_stage("features_in", "features_out", 2.0), {"features_in": "x", "features_out": "mid"})
    second = Stage("b/", _scale_stage("features_in", "features_out", 5.0), {"features_in": "other", "features_out": "y"})
    with pytest.raises(ExportError, match="nothing produces: other"):
        compose([first, second], inputs=["x"], outputs=["y"])


def test_stage_above_requested_opset_is_refused() -> None:
    model = _scale_stage("features_in", "features_out", 2.0)
    model.opset_import[0].version = 18
    with pytest.raises(ExportError, match="opset 18, above the requested 17"):
        compose([Stage("a/", model)], inputs=["features_in"], outputs=["features_out"], opset=17)
