"""INT8 (SmoothQuant + dynamic, searched within the floors) on all-MiniLM-L6-v2 and tiny models, held to sentence-transformers and the fp32 graph."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import numpy as np
import onnx
import pytest
from embedpipe import ONNXPipeline, ONNXPipelineConfig, compat, contract
from embedpipe.errors import ConfigError, ValidationError
from embedpipe.oprule import check_op_rule, undocumented_ops
from embedpipe.runtime import embed, open_session
from onnx import TensorProto

from tests.quantize.checks import assert_tokenizer_untouched, cosines

WORD_EMBEDDINGS = "encoder/model.embeddings.word_embeddings.weight"


def test_int8_export_is_measured_and_keeps_both_floors(minilm_int8) -> None:  # type: ignore[no-untyped-def]
    pipe, path = minilm_int8
    quality = pipe.quality.to_dict()
    print(pipe.quality.summary())
    assert quality["ok"] and (quality["floor"], quality["neighbour_floor"]) == (0.995, 0.95)
    assert quality["mean_cosine"] >= 0.995 and quality["queries"] == 150 and quality["mean_top10_overlap"] >= 0.95
    assert path.suffix == ".onnx" and not list(path.parent.glob("*.dat"))


def test_int8_reports_what_it_kept_in_float_and_stores_it_as_int8(minilm_int8) -> None:  # type: ignore[no-untyped-def]
    """Each node the report names is a MatMul of the fp32 body whose weight is now int8, cast and scaled back to float."""
    pipe, path = minilm_int8
    kept = pipe.quality.to_dict()["kept_float"]
    assert kept and json.loads(json.dumps(kept)) == kept
    model = onnx.load(str(path))
    fp32_matmuls = {n.name for n in pipe.fp32_graph().graph.node if n.op_type == "MatMul"}
    assert set(kept) <= fp32_matmuls
    by_name = {n.name: n for n in model.graph.node}
    produced = {o: n for n in model.graph.node for o in n.output}
    types = {t.name: t.data_type for t in model.graph.initializer}
    for name in kept:
        scaled = produced[by_name[name].input[1]]
        cast = produced[scaled.input[0]]
        assert (by_name[name].op_type, scaled.op_type, cast.op_type) == ("MatMul", "Mul", "Cast") and types[cast.input[0]] == TensorProto.INT8


def test_int8_file_is_at_most_30_percent_of_fp32(minilm_int8, minilm_export) -> None:  # type: ignore[no-untyped-def]
    _, path = minilm_int8
    _, fp32_path = minilm_export
    assert path.stat().st_size <= 0.30 * fp32_path.stat().st_size, (path.stat().st_size, fp32_path.stat().st_size)


def test_int8_vectors_stay_close_to_sentence_transformers_on_real_text(minilm_int8, real_lines, minilm_reference_vectors) -> None:  # type: ignore[no-untyped-def]
    _, path = minilm_int8
    found = cosines(embed(open_session(path), real_lines), minilm_reference_vectors)
    print(f"INT8 vs sentence-transformers on {len(real_lines)} real lines: min {found.min():.5f} mean {found.mean():.5f}")
    assert found.mean() >= 0.995 and found.min() > 0.98


def test_int8_keeps_the_tokenizer_and_uses_only_ops_oracle_documents(minilm_int8) -> None:  # type: ignore[no-untyped-def]
    pipe, path = minilm_int8
    model = onnx.load(str(path))
    assert_tokenizer_untouched(model, pipe.fp32_graph())
    assert check_op_rule(model) == []
    ops = Counter((n.domain, n.op_type) for n in model.graph.node)
    # MiniLM's 36 weighted MatMuls: integer arithmetic, or float on int8 weights for the ones the report names.
    assert ops[("", "MatMulInteger")] + len(pipe.quality.kept_float) == 36 and ops[("", "DynamicQuantizeLinear")] > 0
    assert {d for d, _ in ops} <= {"", "ai.onnx.ml", contract.EXTENSIONS_DOMAIN} and undocumented_ops(model) == []
    assert [(o.domain, o.version) for o in model.opset_import if o.domain in ("", "ai.onnx.ml")] == [("", 17), ("ai.onnx.ml", 2)]
    types = {t.name: t.data_type for t in model.graph.initializer}
    assert types[f"{WORD_EMBEDDINGS}_quantized"] in (
        TensorProto.INT8,
        TensorProto.UINT8,
    )  # Gather data follows the activations' type
    matmul_weights = [n.input[1] for n in model.graph.node if n.op_type == "MatMulInteger"]
    assert {types[w] for w in matmul_weights if w in types} == {TensorProto.INT8}  # the configured weight_type


def test_options_choose_weight_type_and_op_types(tiny_model, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    config = ONNXPipelineConfig(
        quantize_model=True, quantize_options={"weight_type": "quint8", "op_types": ["MatMul"], "per_channel": False}
    )
    pipe = ONNXPipeline(tiny_model("bert-uncased"), config)
    model = onnx.load(str(pipe.export2file("tiny", tmp_path)))
    types = {t.name: t.data_type for t in model.graph.initializer}
    assert types[WORD_EMBEDDINGS] == TensorProto.FLOAT  # Gather left out
    quantized = [t for t in model.graph.initializer if t.name.endswith("_quantized")]
    assert quantized and {t.data_type for t in quantized} == {TensorProto.UINT8}
    scales = [t for t in model.graph.initializer if t.name.endswith("_scale") and t.name.startswith("encoder/")]
    assert scales and all(len(t.dims) == 0 for t in scales)  # per-tensor
    assert pipe.quality.ok and pipe.report.ok


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"weight_type": "int4"}, "INT8 weight_type 'int4' is unknown"),
        ({"op_types": ["Attention"]}, "not all quantizable with standard ONNX ops"),
        ({"per_channel": "yes"}, "per_channel must be true or false"),
        ({"bits": 4}, "bits"),
        ({"smooth_alpha": 1.5}, "smooth_alpha 1.5 is not in"),
        ({"float_compute": "some"}, "float_compute 'some' is unknown"),
    ],
)
def test_bad_options_fail_before_building(tiny_model, options: dict, message: str) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ConfigError, match=message):
        ONNXPipeline(tiny_model("bert-uncased"), ONNXPipelineConfig(quantize_model=True, quantize_options=options))


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ({"neighbour_floor": 0.9}, "neighbour_floor is set but no embedding graph is quantized"),
        ({"quantize_model": True, "neighbour_floor": 1.5}, "neighbour_floor 1.5 is not in"),
    ],
)
def test_bad_neighbour_floor_fails_before_building(tiny_model, config: dict, message: str) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ConfigError, match=message):
        ONNXPipeline(tiny_model("bert-uncased"), ONNXPipelineConfig(**config))


def test_search_ends_at_float_arithmetic_and_still_fails_an_unreachable_neighbour_floor(tiny_model, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """No step keeps every neighbour of a random model exactly: the search tries them all, the export refuses, names the floor."""
    pipe = ONNXPipeline(tiny_model("bert-uncased"), ONNXPipelineConfig(quantize_model=True, quality_floor=0.5, neighbour_floor=1.0))
    with pytest.raises(ValidationError, match="neighbour overlap .* below the neighbour floor 1.0"):
        pipe.export2file("tiny", tmp_path)
    assert list(tmp_path.iterdir()) == []
    body_matmuls = [n for n in pipe.build().graph.node if n.op_type == "MatMul" and n.name in pipe.quality.kept_float]
    assert body_matmuls and not [n for n in pipe.build().graph.node if n.op_type == "MatMulInteger"]


def test_export_below_the_floor_fails_and_writes_nothing(tiny_model, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    pipe = ONNXPipeline(tiny_model("bert-uncased"), ONNXPipelineConfig(quantize_model=True, quality_floor=0.9999999))
    with pytest.raises(ValidationError, match="below the floor 0.9999999"):
        pipe.export2file("tiny", tmp_path)
    assert list(tmp_path.iterdir()) == []
    assert pipe.quality is not None and not pipe.quality.ok and pipe.quality.mean_cosine < 0.9999999


@pytest.mark.compat
def test_int8_graph_agrees_across_oracle_runtimes(minilm_int8, minilm_export) -> None:  # type: ignore[no-untyped-def]
    """Both database runtimes load it, agree with each other, and keep the vectors as close to fp32 as today's runtime does."""
    _, path = minilm_int8
    report = compat.check_compat(path, atol=0.02)
    print(report.table())
    assert report.ok, report.table()
    by_name = {run.name: run for run in report.runs}
    # The two database runtimes run the same integer kernels: their vectors agree far closer than the tolerance.
    assert report.diffs[("ort-1.15.1", "ort-1.20.1")] <= 1e-5
    assert np.isfinite(by_name["ort-1.15.1"].vectors).all()
    fp32 = embed(open_session(minilm_export[1]), list(report.texts))
    for run in report.runs:
        found = cosines(run.vectors, fp32)
        print(f"{run.name}: cos to fp32 min {found.min():.5f} mean {found.mean():.5f}")
        assert found.mean() >= 0.995 and found.min() >= 0.98, run.name
