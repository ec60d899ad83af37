"""End to end: models become one graph whose vectors equal sentence-transformers' own.

The reference is ``SentenceTransformer(folder)`` loaded by sentence-transformers itself, not the
reference embedpipe's validation assembles, so a fault in both would still be caught.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
import pytest

from embedpipe import ONNXPipeline, ONNXPipelineConfig, ValidationError, contract
from embedpipe.compat import check_compat
from embedpipe.oprule import check_op_rule
from embedpipe.runtime import embed, open_session
from embedpipe.samples import SAMPLES
from embedpipe.validate import reference_vectors

from tests.conftest import ORACLE_EXACT_SAMPLES

MIN_COSINE = 0.9999


def _cosines(graph: Path, reference, texts: list[str]) -> np.ndarray:  # type: ignore[no-untyped-def]
    got = embed(open_session(graph), texts)
    want = reference_vectors(reference, texts)  # SentenceTransformer.encode of every text, in batches of like length
    return np.sum(got * want, axis=1) / (np.linalg.norm(got, axis=1) * np.linalg.norm(want, axis=1))


def _worst(texts: list[str], cos: np.ndarray, n: int = 5) -> list[tuple[float, str]]:
    return [(float(cos[i]), texts[i][:80]) for i in np.argsort(cos)[:n]]


def test_minilm_graph_honours_the_contract(minilm_export) -> None:  # type: ignore[no-untyped-def]
    _, path = minilm_export
    model = onnx.load(str(path))
    assert [(i.name, i.type.tensor_type.elem_type) for i in model.graph.input] == [(contract.TEXT, onnx.TensorProto.STRING)]
    [output] = model.graph.output
    assert (output.name, output.type.tensor_type.elem_type) == (contract.EMBEDDING, onnx.TensorProto.FLOAT)
    assert [d.dim_value for d in output.type.tensor_type.shape.dim] == [1, 384]
    assert [d.dim_value for d in model.graph.input[0].type.tensor_type.shape.dim] == [1]
    assert (model.ir_version, {o.domain: o.version for o in model.opset_import}[""]) == (8, 17)
    assert check_op_rule(model) == []


def test_minilm_equals_sentence_transformers_on_hard_samples_and_real_text(minilm_export, minilm_reference, real_text) -> None:  # type: ignore[no-untyped-def]
    _, path = minilm_export
    texts = list(ORACLE_EXACT_SAMPLES) + real_text
    cos = _cosines(path, minilm_reference, texts)
    assert np.all(np.isfinite(cos))
    assert cos.min() >= MIN_COSINE, _worst(texts, cos)


def test_minilm_vectors_are_unit_length(minilm_export) -> None:  # type: ignore[no-untyped-def]
    _, path = minilm_export
    vectors = embed(open_session(path), ["", " ", "x" * 20000, "hello"])
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)


def test_export_report_lists_lines_and_cosines(minilm_export) -> None:  # type: ignore[no-untyped-def]
    pipe, _ = minilm_export
    report = pipe.report.to_dict()
    assert report["ok"] and report["lines"] == len(SAMPLES) and report["errors"] == []
    assert report["min_cosine_outside_declared"] >= MIN_COSINE
    # The oracle profile's one declared gap: the built-in sample holding a NUL, and nothing else.
    forgiven = {name: info["lines"] for name, info in report["forgiven_by_declared_limitation"].items() if info["lines"]}
    assert forgiven == {"nul-character-oracle-profile": sum("\x00" in s for s in SAMPLES)} == {"nul-character-oracle-profile": 1}


@pytest.mark.compat
def test_minilm_graph_gives_the_same_vectors_in_oracles_runtimes(minilm_export, real_text) -> None:  # type: ignore[no-untyped-def]
    _, path = minilm_export
    report = check_compat(path, list(SAMPLES) + real_text[:300])
    assert report.ok, report.table()


FAMILIES = [
    ("bert-uncased", {"pooling": "mean"}),
    ("bert-cased", {"pooling": "cls", "dense_out": 16}),
    ("distilbert", {"pooling": "max"}),
    ("mpnet", {"pooling": "lasttoken", "normalize": False}),
]


@pytest.mark.parametrize(("family", "options"), FAMILIES, ids=[f for f, _ in FAMILIES])
def test_tiny_family_equals_sentence_transformers(family: str, options: dict, tiny_model, tmp_path: Path, real_text) -> None:  # type: ignore[no-untyped-def]
    from sentence_transformers import SentenceTransformer

    folder = tiny_model(family, **options)
    path = ONNXPipeline(folder).export2file(family, tmp_path)
    texts = list(ORACLE_EXACT_SAMPLES) + real_text[::10]
    cos = _cosines(path, SentenceTransformer(str(folder), device="cpu"), texts)
    assert cos.min() >= MIN_COSINE, _worst(texts, cos)
    if family == "distilbert":
        assert "token_type_ids" not in {n for node in onnx.load(str(path)).graph.node for n in node.input}


@pytest.mark.compat
def test_tiny_graphs_in_oracles_runtimes(tiny_model, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    for family, options in FAMILIES:
        path = ONNXPipeline(tiny_model(family, **options), ONNXPipelineConfig(validate=False)).export2file(family, tmp_path)
        report = check_compat(path, list(SAMPLES))
        assert report.ok, report.table()


class _MeanGraphClaimingMax:
    """A pooler whose graph and reference disagree: validation must catch it."""

    def __init__(self) -> None:
        from embedpipe_pooling.mean import MeanPooler

        self._mean = MeanPooler()

    def build_graph(self, hidden_size: int, opset: int) -> onnx.ModelProto:
        return self._mean.build_graph(hidden_size, opset)

    def reference_module(self, hidden_size: int):  # type: ignore[no-untyped-def]
        from sentence_transformers.sentence_transformer.modules import Pooling

        return Pooling(hidden_size, pooling_mode="max")


def test_a_graph_that_differs_fails_export_and_writes_nothing(tiny_model, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    pipe = ONNXPipeline(tiny_model("bert-uncased", pooling="mean"), pooler=_MeanGraphClaimingMax())
    with pytest.raises(ValidationError, match="differs from sentence-transformers"):
        pipe.export2file("wrong", tmp_path)
    assert list(tmp_path.iterdir()) == []
    assert not pipe.report.ok and pipe.report.failures


def test_programmatic_assembly_with_a_hand_made_pooler(tiny_model, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """A pooler object from the caller's own code, no distribution installed, validated for real."""
    from embedpipe_extra_pooling import WeightedMeanPooler

    from embedpipe.plugins import PluginManager

    manager = PluginManager()
    manager.load_entry_points(allowed=["embedpipe-tokenizers", "embedpipe-postprocess", "embedpipe-sinks"])
    assert "weightedmean" not in manager.registry("poolers")
    folder = tiny_model("bert-uncased", pooling="weightedmean")
    pipe = ONNXPipeline(folder, ONNXPipelineConfig(), pooler=WeightedMeanPooler(), plugins=manager)
    path = pipe.export2file("assembled", tmp_path)
    assert pipe.report.ok and path.is_file()


def test_oml4py_aliases_and_positional_config(tiny_model, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from embedpipe import EmbeddingModel, EmbeddingModelConfig

    config = EmbeddingModelConfig.from_template("text", max_seq_length=32)
    model = EmbeddingModel(tiny_model("bert-uncased", pooling="cls", normalize=False), config)
    assert model.settings.pooling == "mean" and model.settings.normalizes and model.settings.max_seq_length == 32
    path = model.export2file("templated", output_dir=tmp_path)
    assert path == tmp_path / "templated.onnx"
    assert model.report.ok
