"""Optimization levels (``optimize`` 0, 1, 2, 99): each level's graph gives sentence-transformers' vectors,
levels 2 and 99 write ONNX Runtime's contrib ops and so need the portable profile (refused in one line
for Oracle), INT8 takes every level, and a fused graph loads in Oracle's two runtimes."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
import pytest
from click.testing import CliRunner
from embedpipe import ONNXPipeline, ONNXPipelineConfig, contract
from embedpipe.cli import main
from embedpipe.errors import ConfigError
from embedpipe.runtime import embed, open_session

from tests.conftest import Convert

TEXTS = ["The quick brown fox jumps over the lazy dog.", "", "naïve café 日本語 🙂", "word " * 300]
PORTABLE = contract.PORTABLE_PROFILE


@pytest.fixture(scope="module")
def tiny_bert(tiny_model) -> Path:  # type: ignore[no-untyped-def]
    return tiny_model("bert-uncased")


@pytest.fixture(scope="module")
def reference_vectors(tiny_bert: Path) -> np.ndarray:
    from sentence_transformers import SentenceTransformer

    return SentenceTransformer(str(tiny_bert), device="cpu").encode(TEXTS, convert_to_numpy=True)


def _contrib_ops(model: onnx.ModelProto) -> set[str]:
    return {node.op_type for node in model.graph.node if node.domain == contract.CONTRIB_DOMAIN and node.op_type != "Tokenizer"}


@pytest.mark.parametrize("level", [0, 1, 2])  # 99 adds only NCHWc layouts, for convolutions a transformer has none of
def test_every_level_gives_sentence_transformers_vectors(converted: Convert, tiny_bert: Path, reference_vectors: np.ndarray, level: int) -> None:
    """The export validated, and its vectors (read here, not from the report) within 1e-5 of the reference;
    only the fusing levels write contrib ops, and every level keeps the input's opset imports."""
    pipe, path = converted(tiny_bert, op_profile=PORTABLE, optimize=level)
    assert pipe.report is not None and pipe.report.ok
    vectors = embed(open_session(path), TEXTS)
    np.testing.assert_allclose(vectors, reference_vectors, atol=1e-5)
    model = onnx.load(str(path))
    fused = _contrib_ops(model)
    if level >= 2:
        assert {"FusedMatMul", "BiasGelu", "SkipLayerNormalization"} <= fused, fused
    else:
        assert fused == set()
    unoptimized = onnx.load(str(converted(tiny_bert, op_profile=PORTABLE)[1]))
    assert sorted((o.domain, o.version) for o in model.opset_import) == sorted((o.domain, o.version) for o in unoptimized.opset_import)
    assert model.ir_version == unoptimized.ir_version


def test_the_level_is_recorded_unless_it_is_the_default(converted: Convert, tiny_bert: Path) -> None:
    """A later `embedpipe validate` rebuilds the reference from the recorded settings, so a chosen level is among them."""
    assert "optimize" not in converted(tiny_bert, op_profile=PORTABLE)[0].settings_properties()
    assert converted(tiny_bert, op_profile=PORTABLE, optimize=2)[0].settings_properties()["optimize"] == 2
    assert ONNXPipeline(tiny_bert, ONNXPipelineConfig(quantize_model=True)).settings.optimize == 1  # as before the option


def test_int8_at_a_fusing_level(converted: Convert, tiny_bert: Path) -> None:
    """ONNX Runtime's quantizer cannot type fused ops: it quantizes the basic level, then the quantized body is fused."""
    pipe, path = converted(tiny_bert, op_profile=PORTABLE, optimize=2, quantize_model=True)
    assert pipe.quality is not None and pipe.quality.ok
    assert {"DynamicQuantizeMatMul", "SkipLayerNormalization"} <= _contrib_ops(onnx.load(str(path)))


@pytest.mark.parametrize("level", [2, 99])
def test_fusing_levels_are_refused_for_oracle(tiny_bert: Path, level: int) -> None:
    with pytest.raises(ConfigError) as caught:
        ONNXPipeline(tiny_bert, ONNXPipelineConfig(optimize=level))
    message = str(caught.value)
    assert contract.CONTRIB_DOMAIN in message and "Oracle" in message and "portable" in message and "\n" not in message


@pytest.mark.parametrize("level", [3, -1, True, "2"])
def test_unknown_levels_are_refused(tiny_bert: Path, level: object) -> None:
    with pytest.raises(ConfigError, match="not an optimization level"):
        ONNXPipeline(tiny_bert, ONNXPipelineConfig(op_profile=PORTABLE, optimize=level))


def test_cli_refuses_a_fusing_level_for_oracle_in_one_line(tiny_bert: Path, tmp_path: Path) -> None:
    output = tmp_path / "out.onnx"
    result = CliRunner().invoke(main, ["convert", str(tiny_bert), "-o", str(output), "--optimize", "2"])
    assert result.exit_code == 2
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "op-profile portable" in lines[0], result.stderr
    assert not output.exists()


@pytest.mark.compat
def test_a_fused_graph_loads_in_oracles_runtimes(converted: Convert, tiny_bert: Path) -> None:
    """FusedMatMul, BiasGelu and SkipLayerNormalization exist in ONNX Runtime 1.15.1 and 1.20.1: same vectors there."""
    from embedpipe.compat import check_compat

    report = check_compat(converted(tiny_bert, op_profile=PORTABLE, optimize=2)[1])
    print(report.table())
    assert report.ok, report.table()
