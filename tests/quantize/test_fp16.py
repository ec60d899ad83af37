"""FP16 on all-MiniLM-L6-v2 and tiny models: float16 inside, string in and float32 out, held to the fp32 graph and sentence-transformers."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import onnx
import pytest
from embedpipe import ONNXPipeline, ONNXPipelineConfig, compat, contract
from embedpipe.errors import ConfigError
from embedpipe.oprule import check_op_rule
from embedpipe.runtime import embed, open_session
from onnx import TensorProto

from tests.quantize.checks import assert_tokenizer_untouched, cosines


def _float_types(model: onnx.ModelProto, prefix: str) -> Counter:
    return Counter(
        t.data_type
        for t in model.graph.initializer
        if t.name.startswith(prefix) and t.data_type in (TensorProto.FLOAT, TensorProto.FLOAT16)
    )


def test_fp16_export_is_measured_and_passes_its_floor(minilm_fp16) -> None:  # type: ignore[no-untyped-def]
    pipe, _ = minilm_fp16
    print(pipe.quality.summary())
    quality = pipe.quality.to_dict()
    assert quality["ok"] and quality["floor"] == 0.999 and quality["mean_cosine"] >= 0.999
    assert quality["mean_top10_overlap"] >= 0.95 and quality["size_ratio"] <= 0.55


def test_fp16_vectors_match_sentence_transformers_on_real_text(minilm_fp16, real_lines, minilm_reference_vectors) -> None:  # type: ignore[no-untyped-def]
    _, path = minilm_fp16
    found = cosines(embed(open_session(path), real_lines), minilm_reference_vectors)
    print(f"FP16 vs sentence-transformers on {len(real_lines)} real lines: min {found.min():.6f} mean {found.mean():.6f}")
    assert found.mean() >= 0.999 and found.min() >= 0.99


def test_fp16_computes_the_encoder_in_float16_and_keeps_io_and_tokenizer(minilm_fp16) -> None:  # type: ignore[no-untyped-def]
    pipe, path = minilm_fp16
    model = onnx.load(str(path))
    assert_tokenizer_untouched(model, pipe.fp32_graph())
    assert check_op_rule(model) == []
    assert _float_types(model, "encoder/")[TensorProto.FLOAT16] > 50
    assert TensorProto.FLOAT16 not in _float_types(model, "pooler/")  # pooling stays float32
    float16_values = {v.name for v in model.graph.value_info if v.type.tensor_type.elem_type == TensorProto.FLOAT16}
    assert any(name.startswith("encoder/") for name in float16_values)  # activations, not only weights


def test_weights_only_mode_stores_float16_and_computes_float32(tiny_model, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    pipe = ONNXPipeline(tiny_model("bert-cased"), ONNXPipelineConfig(use_float16=True, quantize_options={"compute": "float32"}))
    model = onnx.load(str(pipe.export2file("tiny", tmp_path)))
    stored = [t for t in model.graph.initializer if t.data_type == TensorProto.FLOAT16]
    casts = {n.input[0] for n in model.graph.node if n.op_type == "Cast"}
    assert stored and all(t.name in casts for t in stored)
    assert not any(v.type.tensor_type.elem_type == TensorProto.FLOAT16 for v in model.graph.value_info)
    assert pipe.report.ok and pipe.quality.ok and pipe.quality.mean_cosine >= 0.999


def test_unknown_compute_mode_is_a_config_error(tiny_model) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ConfigError, match="FP16 compute 'bfloat16' is unknown"):
        ONNXPipeline(tiny_model("bert-cased"), ONNXPipelineConfig(use_float16=True, quantize_options={"compute": "bfloat16"}))


@pytest.mark.compat
def test_fp16_graph_agrees_across_oracle_runtimes(minilm_fp16) -> None:  # type: ignore[no-untyped-def]
    _, path = minilm_fp16
    report = compat.check_compat(path, atol=1e-3)
    print(report.table())
    assert report.ok, report.table()


def test_fp16_computes_the_pipelines_pooler_and_post_processors_in_float32(tiny_model) -> None:  # type: ignore[no-untyped-def]
    """The quantizer finds those stages by the contract's prefixes, the ones the pipeline gives them."""
    model = ONNXPipeline(tiny_model("bert-cased"), ONNXPipelineConfig(use_float16=True, validate=False)).build()
    types = {v.name: v.type.tensor_type.elem_type for v in [*model.graph.value_info, *model.graph.output]}
    for prefix in (contract.POOLER_STAGE, contract.postprocessor_stage(0)):
        computing = [n for n in model.graph.node if n.name.startswith(prefix) and n.op_type != "Cast"]
        assert computing, f"no node named {prefix}..."
        for node in computing:
            assert TensorProto.FLOAT16 not in {types.get(name) for name in [*node.input, *node.output]}, node.name
    assert TensorProto.FLOAT16 in {t for name, t in types.items() if name.startswith(contract.ENCODER_STAGE)}
