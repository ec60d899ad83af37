"""The compatibility proof on a hand-built tokenizer graph, in ONNX Runtime 1.15.1 and 1.20.1.

The first run builds both runtime venvs under .cache/compat (a few minutes); later runs reuse them.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

from embedpipe import compat, contract
from embedpipe.errors import ExportError

# Tests that build or use the runtime venvs; the pure report tests below run everywhere.
compat_venvs = pytest.mark.compat

VOCAB = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "hello", "world", "cafe", "##s", "日", "本", "the", "fox"]
TEXTS = ["hello world", "Cafés", "日本語", "", "the fox says hello\x00ignored", "hello " * 40]
DIM = 8


def tokenizer_graph(opset: int = contract.DEFAULT_OPSET, ir_version: int = contract.DEFAULT_IR_VERSION) -> onnx.ModelProto:
    """input string [1] -> BertTokenizer -> embedding lookup -> masked mean -> L2 norm -> embedding [1, DIM]."""
    table = np.random.default_rng(0).standard_normal((len(VOCAB), DIM)).astype(np.float32)
    nodes = [
        helper.make_node(
            "BertTokenizer",
            [contract.TEXT],
            ["ids", "types", "mask"],
            domain=contract.EXTENSIONS_DOMAIN,
            vocab_file="\n".join(VOCAB),
            do_lower_case=1,
            strip_accents=1,
        ),
        helper.make_node("Gather", ["table", "ids"], ["tokens"]),
        helper.make_node("Cast", ["mask"], ["mask_f"], to=TensorProto.FLOAT),
        helper.make_node("Unsqueeze", ["mask_f", "axis1"], ["mask_col"]),
        helper.make_node("Mul", ["tokens", "mask_col"], ["masked"]),
        helper.make_node("ReduceSum", ["masked", "axis0"], ["summed"], keepdims=1),
        helper.make_node("ReduceSum", ["mask_col", "axis0"], ["count"], keepdims=1),
        helper.make_node("Div", ["summed", "count"], ["mean"]),
        helper.make_node("LpNormalization", ["mean"], [contract.EMBEDDING], axis=1, p=2),
    ]
    initializers = [
        numpy_helper.from_array(table, "table"),
        numpy_helper.from_array(np.array([0], dtype=np.int64), "axis0"),
        numpy_helper.from_array(np.array([1], dtype=np.int64), "axis1"),
    ]
    graph = helper.make_graph(
        nodes,
        "compat_probe",
        [helper.make_tensor_value_info(contract.TEXT, TensorProto.STRING, [1])],
        [helper.make_tensor_value_info(contract.EMBEDDING, TensorProto.FLOAT, [1, DIM])],
        initializers,
    )
    opsets = [helper.make_opsetid("", opset), helper.make_opsetid(contract.EXTENSIONS_DOMAIN, 1)]
    return helper.make_model(graph, opset_imports=opsets, ir_version=ir_version)


def save(model: onnx.ModelProto, path: Path) -> Path:
    onnx.save(model, str(path))
    return path


@compat_venvs
def test_tokenizer_graph_agrees_across_runtimes(tmp_path: Path) -> None:
    report = compat.check_compat(save(tokenizer_graph(), tmp_path / "probe.onnx"), TEXTS)
    print(report.table())
    assert report.ok, report.table()
    by_name = {run.name: run for run in report.runs}
    assert by_name["ort-1.15.1"].versions["onnxruntime"] == "1.15.1"
    assert by_name["ort-1.15.1"].versions["onnxruntime_extensions"] == "0.10.1"
    assert by_name["ort-1.20.1"].versions["onnxruntime"] == "1.20.1"
    assert by_name["ort-1.20.1"].versions["onnxruntime_extensions"] == "0.12.0"
    for run in report.runs:
        assert run.vectors.shape == (len(TEXTS), DIM)
        assert np.allclose(np.linalg.norm(run.vectors, axis=1), 1.0, atol=1e-5)
    assert len(report.diffs) == 3
    assert all(d is not None and d <= 1e-5 for d in report.diffs.values())
    # Different texts must give different vectors, or agreement would prove nothing.
    assert not np.allclose(by_name["current"].vectors[0], by_name["current"].vectors[1])


@compat_venvs
def test_opset_19_graph_fails_under_1_15(tmp_path: Path) -> None:
    report = compat.check_compat(save(tokenizer_graph(opset=19, ir_version=9), tmp_path / "opset19.onnx"), TEXTS[:2])
    by_name = {run.name: run for run in report.runs}
    assert not report.ok
    assert not by_name["ort-1.15.1"].loaded
    assert by_name["ort-1.20.1"].ok
    assert any("opset 19" in v for v in report.op_violations)
    assert "result: FAIL" in report.table()
    assert report.to_dict()["runtimes"][1]["load_error"]


@compat_venvs
def test_ir_10_graph_fails_under_1_15(tmp_path: Path) -> None:
    report = compat.check_compat(save(tokenizer_graph(ir_version=10), tmp_path / "ir10.onnx"), TEXTS[:1])
    assert not {run.name: run for run in report.runs}["ort-1.15.1"].loaded
    assert any("IR version 10" in v for v in report.op_violations)


@compat_venvs
def test_main_exits_non_zero_on_failure_and_zero_on_success(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    good = save(tokenizer_graph(), tmp_path / "good.onnx")
    bad = save(tokenizer_graph(opset=19, ir_version=9), tmp_path / "bad.onnx")
    assert compat.main([str(good), "--text", "hello"]) == 0
    assert compat.main([str(good), str(bad), "--text", "hello"]) == 1
    assert compat.main([str(tmp_path / "missing.onnx")]) == 2
    assert "no ONNX file" in capsys.readouterr().err


def test_report_fails_when_vectors_differ() -> None:
    vectors = np.ones((2, 3), dtype=np.float32)
    same = compat.RuntimeRun("a", {}, None, {}, vectors)
    other = compat.RuntimeRun("b", {}, None, {}, vectors + 1e-3)
    diff = compat.max_abs_diff(same, other)
    report = compat.CompatReport(Path("x.onnx"), ("t1", "t2"), 1e-5, "oracle", [], [same, other], {("a", "b"): diff})
    assert diff == pytest.approx(1e-3, rel=1e-3)
    assert not report.ok
    assert "result: FAIL" in report.table()


def test_report_fails_on_non_finite_vectors_and_text_errors() -> None:
    nan = compat.RuntimeRun("a", {}, None, {}, np.array([[np.nan, 0.0]], dtype=np.float32))
    failed = compat.RuntimeRun("b", {}, None, {0: "boom"}, np.full((1, 2), np.nan, dtype=np.float32))
    assert not nan.finite and not nan.ok
    assert failed.finite and not failed.ok
    assert compat.max_abs_diff(nan, failed) is None


@compat_venvs
def test_venv_is_reused_and_rebuilt_when_requirements_change(tmp_path: Path) -> None:
    first = compat.RuntimeSpec("tiny", ("packaging",))
    venv = compat.ensure_runtime(first, tmp_path)
    marker = venv / "marker"
    marker.touch()
    assert compat.ensure_runtime(first, tmp_path) == venv and marker.exists()
    compat.ensure_runtime(compat.RuntimeSpec("tiny", ("packaging", "flatbuffers")), tmp_path)
    assert not marker.exists()
    assert "flatbuffers" in (venv / compat.STAMP_FILE).read_text(encoding="utf-8")


@compat_venvs
def test_unavailable_requirement_is_a_one_line_export_error(tmp_path: Path) -> None:
    with pytest.raises(ExportError, match="could not build the broken environment") as caught:
        compat.ensure_runtime(compat.RuntimeSpec("broken", ("onnxruntime==0.0.1",)), tmp_path)
    assert "\n" not in str(caught.value)
