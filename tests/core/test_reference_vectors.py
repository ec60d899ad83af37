"""Validation's reference side (issue 16): the same vectors as encoding each text alone, fewer padded
tokens, and the reference model freed before the graph's session opens."""

from __future__ import annotations

import weakref
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from embedpipe import ONNXPipeline, runtime
from embedpipe import pipeline as pipeline_module
from embedpipe.samples import SAMPLES
from embedpipe.validate import reference_vectors

from tests.conftest import Convert


def test_reference_vectors_are_sentence_transformers_vectors_of_each_text_alone(minilm_reference) -> None:  # type: ignore[no-untyped-def]
    texts = list(SAMPLES)
    got = reference_vectors(minilm_reference, texts)
    alone = minilm_reference.encode(texts, batch_size=1, convert_to_numpy=True, show_progress_bar=False)
    assert got.shape == alone.shape
    np.testing.assert_allclose(got, alone, atol=1e-5)


def test_reference_vectors_put_the_prompt_before_every_text(minilm_reference) -> None:  # type: ignore[no-untyped-def]
    texts = ["hello world", "naïve café résumé", ""]
    got = reference_vectors(minilm_reference, texts, prefix="query: ")
    want = minilm_reference.encode([f"query: {t}" for t in texts], batch_size=1, convert_to_numpy=True, show_progress_bar=False)
    np.testing.assert_allclose(got, want, atol=1e-5)


def test_reference_batches_never_pad_beyond_one_maximum_length_text(minilm_reference, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    padded: list[int] = []
    encode = minilm_reference.encode

    def counting(texts: list[str], **options: Any) -> np.ndarray:
        mask = minilm_reference.preprocess(texts)["attention_mask"]
        padded.append(int(mask.shape[0] * mask.shape[1]))
        return encode(texts, **options)

    monkeypatch.setattr(minilm_reference, "encode", counting)
    reference_vectors(minilm_reference, list(SAMPLES))
    # The samples hold two texts at the maximum length and many short ones: the short ones share batches.
    assert max(padded) <= minilm_reference.max_seq_length
    assert len(padded) < len(SAMPLES) // 2


def test_validation_frees_the_reference_model_before_opening_the_session(
    tiny_model, converted: Convert, monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    folder = tiny_model("bert-uncased")
    _, path = converted(folder)
    loaded: list[weakref.ref] = []
    alive_at_open: list[bool] = []
    load, open_session = pipeline_module.reference_model, runtime.open_session

    def tracked_load(*args: Any) -> Any:
        model = load(*args)
        loaded.append(weakref.ref(model))
        return model

    def tracked_open(model: Path, **options: Any) -> Any:
        alive_at_open.append(any(ref() is not None for ref in loaded))
        return open_session(model, **options)

    monkeypatch.setattr(pipeline_module, "reference_model", tracked_load)
    monkeypatch.setattr(runtime, "open_session", tracked_open)
    report = ONNXPipeline(folder).validate(model=path)
    assert report.ok and len(report.results) == len(SAMPLES)
    assert len(loaded) == 1 and alive_at_open == [False]
