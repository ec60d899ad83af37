"""The contrib example plugin: both poolers equal sentence-transformers, and a model that declares
one converts with no option because the plugin is found through its entry point."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnxruntime as ort
import pytest
import torch
from embedpipe_extra_pooling import SqrtLengthMeanPooler, WeightedMeanPooler

from embedpipe import ONNXPipeline


@pytest.mark.parametrize("pooler_class", [WeightedMeanPooler, SqrtLengthMeanPooler])
@pytest.mark.parametrize("mask", [[1], [1, 1, 1, 1, 1, 1, 1], [1, 1, 1, 0, 0], [0, 0, 1, 1, 1]])
def test_pooler_equals_sentence_transformers(pooler_class: type, mask: list[int]) -> None:
    pooler = pooler_class()
    x = np.random.default_rng(len(mask)).standard_normal((1, len(mask), 16)).astype(np.float32)
    m = np.array([mask], dtype=np.int64)
    got = ort.InferenceSession(pooler.build_graph(16, 17).SerializeToString()).run(None, {"token_embeddings": x, "attention_mask": m})[0]
    want = pooler.reference_module(16)({"token_embeddings": torch.tensor(x), "attention_mask": torch.tensor(m)})["sentence_embedding"]
    np.testing.assert_allclose(got, want.numpy(), rtol=1e-5, atol=1e-6)


def test_declared_mode_converts_through_the_installed_plugin(tiny_model, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    pipe = ONNXPipeline(tiny_model("bert-uncased", pooling="mean_sqrt_len_tokens"))
    assert pipe.settings.pooling == "mean_sqrt_len_tokens"
    assert isinstance(pipe.components.pooler, SqrtLengthMeanPooler)
    pipe.export2file("sqrt", tmp_path)
    assert pipe.report.ok
