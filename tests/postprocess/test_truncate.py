"""Matryoshka truncation (post-processor ``truncate``): the graph against ``SentenceTransformer(..., truncate_dim=k)``.

sentence-transformers truncates after its whole module chain, so a model with Normalize gives a
truncated unit vector that is no longer unit length; the graph truncates, then normalizes. The
two must point the same way (cosine), and without Normalize they must be equal.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
import pytest
from embedpipe import ONNXPipeline, ONNXPipelineConfig, contract
from embedpipe.errors import ConfigError
from embedpipe.oprule import check_op_rule
from embedpipe.plugins import get_plugin_manager
from embedpipe.runtime import embed, open_session
from embedpipe.samples import SAMPLES

from tests.conftest import ORACLE_EXACT_SAMPLES, Convert

MIN_COSINE = 0.9999
DIM = 16


def _chain(dim: object, *, normalize: bool = True) -> ONNXPipelineConfig:
    entries: list[dict] = [{"name": "Pooling", "type": "mean"}, {"name": "truncate", "dim": dim}]
    if normalize:
        entries.append({"name": "normalize"})
    return ONNXPipelineConfig(post_processors=entries, validate=False)


@pytest.fixture(scope="module")
def minilm_truncated(minilm_dir: Path) -> tuple[ONNXPipeline, onnx.ModelProto]:
    pipe = ONNXPipeline(minilm_dir, _chain(DIM))
    return pipe, pipe.build()


def test_truncate_is_registered_by_the_postprocess_distribution() -> None:
    registry = get_plugin_manager().registry("postprocessors")
    assert registry["truncate"].plugin == registry["normalize"].plugin == "postprocess"


def test_truncated_graph_outputs_one_row_of_k_values(minilm_truncated) -> None:  # type: ignore[no-untyped-def]
    _, model = minilm_truncated
    [output] = model.graph.output
    assert output.name == contract.EMBEDDING
    assert [d.dim_value for d in output.type.tensor_type.shape.dim] == [1, DIM]
    assert check_op_rule(model) == []
    vector = embed(open_session(model), ["hello"])
    assert vector.shape == (1, DIM)


def test_truncated_minilm_points_where_sentence_transformers_truncate_dim_points(minilm_truncated, minilm_dir, real_text) -> None:  # type: ignore[no-untyped-def]
    from sentence_transformers import SentenceTransformer

    _, model = minilm_truncated
    texts = list(ORACLE_EXACT_SAMPLES) + real_text[:400]
    got = embed(open_session(model), texts)
    want = SentenceTransformer(str(minilm_dir), device="cpu", truncate_dim=DIM).encode(texts, batch_size=16)
    assert got.shape == want.shape == (len(texts), DIM)
    cos = np.sum(got * want, axis=1) / (np.linalg.norm(got, axis=1) * np.linalg.norm(want, axis=1))
    assert cos.min() >= MIN_COSINE, [texts[i][:60] for i in np.argsort(cos)[:5]]
    # normalize runs after truncation, so the graph's prefix is a unit vector again; ST's is shorter.
    np.testing.assert_allclose(np.linalg.norm(got, axis=1), 1.0, atol=1e-5)
    assert np.linalg.norm(want, axis=1).max() < 0.99


def test_without_normalize_the_values_equal_sentence_transformers(tiny_model) -> None:  # type: ignore[no-untyped-def]
    from sentence_transformers import SentenceTransformer

    folder = tiny_model("bert-cased", normalize=False)
    model = ONNXPipeline(folder, _chain(5, normalize=False)).build()
    texts = list(ORACLE_EXACT_SAMPLES)
    got = embed(open_session(model), texts)
    want = SentenceTransformer(str(folder), device="cpu", truncate_dim=5).encode(texts, batch_size=16)
    np.testing.assert_allclose(got, want, atol=2e-5)


def test_the_reference_validation_builds_agrees_with_the_graph(minilm_truncated) -> None:  # type: ignore[no-untyped-def]
    pipe, _ = minilm_truncated
    report = pipe.validate()
    assert report.ok and report.to_dict()["min_cosine_outside_declared"] >= MIN_COSINE


@pytest.mark.parametrize("dim", [0, -4, 2.5, True, "16"])
def test_an_impossible_dim_is_one_line_naming_the_fix(minilm_dir: Path, dim: object) -> None:
    with pytest.raises(ConfigError, match="at least 1") as caught:
        ONNXPipeline(minilm_dir, _chain(dim)).build()
    assert "\n" not in str(caught.value)


def test_a_dim_wider_than_the_embedding_names_the_limit(minilm_dir: Path) -> None:
    with pytest.raises(ConfigError, match="use at most 384") as caught:
        ONNXPipeline(minilm_dir, _chain(385)).build()
    assert "\n" not in str(caught.value)


def test_the_truncate_dim_property_and_cli_flag_build_the_same_chain(tiny_model, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    import json

    from click.testing import CliRunner
    from embedpipe.cli import main
    from sentence_transformers import SentenceTransformer

    folder = tiny_model("bert-uncased")
    pipe = ONNXPipeline(folder, ONNXPipelineConfig(truncate_dim=8))
    assert [p.name for p in pipe.settings.post_processors] == ["truncate", "normalize"]
    out = tmp_path / "m.onnx"
    result = CliRunner().invoke(main, ["convert", str(folder), "-o", str(out), "--truncate-dim", "8", "--json"])
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["dimension"] == 8 and json.loads(result.stdout)["validation"]["ok"]
    texts = list(ORACLE_EXACT_SAMPLES)
    got = embed(open_session(out), texts)
    want = SentenceTransformer(str(folder), device="cpu", truncate_dim=8).encode(texts)
    cos = np.sum(got * want, axis=1) / (np.linalg.norm(got, axis=1) * np.linalg.norm(want, axis=1))
    assert cos.min() >= MIN_COSINE


@pytest.mark.compat
def test_truncated_graph_runs_alike_in_oracles_runtimes(tiny_model, converted: Convert) -> None:  # type: ignore[no-untyped-def]
    from embedpipe.compat import check_compat

    _, path = converted(tiny_model("bert-uncased"), truncate_dim=8)
    report = check_compat(path, list(SAMPLES))
    assert report.ok, report.table()
