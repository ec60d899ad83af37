"""INT8 and FP16 rerankers and classifiers: the graph builds and keeps its op profile, the quality
report measures it against its fp32 graph, and its scores stay near the libraries' own.

The models are the tiny WordPiece reranker and three-label classifier the head tests use (wide
random weights, initializer_range 0.3); their tokenizer is trained anew each session and comes out
a little different each time, so the figures move. Over 9 sessions, on the hard inputs (164 pairs,
39 texts) against CrossEncoder.predict (sigmoid) and transformers' softmax, max |difference|:
INT8 0.034-0.078 (reranker), 0.019-0.052 (classifier); FP16 5.8e-4-1.1e-3 and 8.8e-4-1.5e-3.
Against the fp32 graph: reranker INT8 min Spearman 0.944-0.990, FP16 >= 0.999; classifier
same label 0.974-1.0 (INT8), 1.0 (FP16). The tolerances leave about 2x (FP16: 1.7x) of the worst seen.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import onnx
import pytest
from click.testing import CliRunner
from embedpipe import MiningFunction, ONNXPipeline, ONNXPipelineConfig, contract
from embedpipe.cli import main
from embedpipe.errors import ValidationError
from embedpipe.oprule import assert_op_rule
from embedpipe.runtime import open_session, run_inputs
from embedpipe.scoring import hard_inputs

from tests.conftest import Convert
from tests.core.classifiers import build_classifier
from tests.quantize.checks import stage_nodes

LABELS = {0: "negative", 1: "neutral", 2: "positive"}
SETTINGS = {
    contract.REGRESSION: {"max_seq_length": 64, "function": MiningFunction.REGRESSION.name, "activation": "model"},
    contract.CLASSIFICATION: {"max_seq_length": 64},
}
QUANTIZERS = {"int8": {"quantize_model": True}, "fp16": {"use_float16": True}}
# Max |quantized graph - library| measured (module docstring), with headroom.
TOLERANCE = {
    (contract.REGRESSION, "int8"): 0.15,
    (contract.REGRESSION, "fp16"): 2e-3,
    (contract.CLASSIFICATION, "int8"): 0.1,
    (contract.CLASSIFICATION, "fp16"): 2.5e-3,
}
CASES = sorted(TOLERANCE)


@pytest.fixture(scope="session")
def head_dirs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The reranker (one label) and the classifier (three), keyed by function."""
    root = tmp_path_factory.mktemp("quantized-heads")
    return {
        contract.REGRESSION: build_classifier(root / "reranker", "bert-uncased", {0: "LABEL_0"}),
        contract.CLASSIFICATION: build_classifier(root / "classifier", "bert-uncased", LABELS),
    }


@pytest.fixture(scope="session")
def quantized_head(head_dirs: dict[str, Path], converted: Convert):  # type: ignore[no-untyped-def]
    """``get(function, quantizer)``: (pipeline, file), exported (validated and measured) once per session."""

    def get(function: str, quantizer: str) -> tuple[ONNXPipeline, Path]:
        return converted(head_dirs[function], **SETTINGS[function], **QUANTIZERS[quantizer])

    return get


@pytest.mark.parametrize(("function", "quantizer"), CASES)
def test_quantized_head_builds_and_reports(quantized_head, function: str, quantizer: str) -> None:  # type: ignore[no-untyped-def]
    pipe, path = quantized_head(function, quantizer)
    model, fp32 = onnx.load(str(path)), pipe.fp32_graph()
    assert_op_rule(model, op_profile=contract.ORACLE_PROFILE)
    (output,) = model.graph.output
    assert (output.name, output.type.tensor_type.elem_type) == (pipe.settings.head.output, onnx.TensorProto.FLOAT)
    # The head stays float32: its nodes are the fp32 graph's, and an FP16 body hands it a Cast to FLOAT.
    head = [n for n in model.graph.node if n.name.startswith(contract.HEAD_STAGE)]
    assert [n.op_type for n in head] == [n.op_type for n in fp32.graph.node if n.name.startswith(contract.HEAD_STAGE)] != []
    if quantizer == "fp16":
        (cast,) = [n for n in model.graph.node if head[0].input[0] in n.output]
        assert (cast.op_type, [a.i for a in cast.attribute if a.name == "to"]) == ("Cast", [onnx.TensorProto.FLOAT])
    assert stage_nodes(model, contract.TOKENIZER_STAGE) == stage_nodes(fp32, contract.TOKENIZER_STAGE)
    ops = {n.op_type for n in model.graph.node}
    assert ("MatMulInteger" in ops) == (quantizer == "int8")
    quality = pipe.quality.to_dict()
    print(pipe.quality.summary())
    agreement = "min_spearman" if function == contract.REGRESSION else "same_label"
    assert quality["ok"] and quality["function"] == function and quality["quantizer"] == quantizer
    assert quality["lines"] == len(hard_inputs(pipe.settings.head.pair)) and quality["floor"] == pytest.approx(0.9 if agreement == "min_spearman" else 0.95)
    assert 0 < quality["mean_difference"] <= quality["max_difference"] <= TOLERANCE[function, quantizer]
    assert quality[agreement] >= quality["floor"] and quality["size_ratio"] < 0.75
    recorded = json.loads({p.key: p.value for p in model.metadata_props}[contract.MANIFEST_KEY])["quality"]
    assert recorded["ok"] and recorded[agreement] == pytest.approx(quality[agreement], abs=1e-6)


@pytest.mark.parametrize(("function", "quantizer"), CASES)
def test_quantized_scores_stay_near_the_library(quantized_head, function: str, quantizer: str) -> None:  # type: ignore[no-untyped-def]
    """The library's rows are the export's validation reference: CrossEncoder.predict or transformers'
    softmax (embedpipe.scoring, held to direct library calls by tests/core), computed once per export."""
    pipe, path = quantized_head(function, quantizer)
    # Lines under a declared tokenizer limitation (NUL, oracle profile) differ in the fp32 graph too.
    lines = [line for line in pipe.report.results if not line.limitation]
    session = open_session(path)
    difference = np.abs(np.stack([run_inputs(session, line.inputs) for line in lines]) - np.stack([line.want for line in lines]))
    print(f"{function} {quantizer} vs library: max {difference.max():.2e} mean {difference.mean():.2e} over {len(lines)} inputs")
    assert len(lines) >= 38 and difference.max() <= TOLERANCE[function, quantizer]


def test_inspect_shows_the_quality_report(quantized_head) -> None:  # type: ignore[no-untyped-def]
    _, path = quantized_head(contract.CLASSIFICATION, "int8")
    result = CliRunner().invoke(main, ["inspect", str(path), "--json"])
    assert result.exit_code == 0, result.output
    quality = json.loads(result.output)["manifest"]["quality"]
    assert quality["function"] == contract.CLASSIFICATION and quality["floor"] <= quality["same_label"] <= 1


def test_a_reranker_below_its_floor_is_not_written(
    quantized_head, head_dirs: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    """INT8 keeps the reranker's order near (Spearman ~0.99), not exactly: a floor of 1.0 refuses it.

    The fp32 graph's parity is the shared export's (proved there); re-proving it would double the cost.
    """
    proved, _ = quantized_head(contract.REGRESSION, "int8")
    monkeypatch.setattr(ONNXPipeline, "validate", lambda self: proved.report)
    config = ONNXPipelineConfig(**SETTINGS[contract.REGRESSION], quantize_model=True, quality_floor=1.0)
    with pytest.raises(ValidationError, match=r"int8 moves the regression outputs too far: min_spearman 0\.9\d+ .* below the floor 1\.0"):
        ONNXPipeline(head_dirs[contract.REGRESSION], config).export2file("reranker", tmp_path)
    assert not list(tmp_path.iterdir())
