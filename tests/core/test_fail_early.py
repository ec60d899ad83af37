"""Settings known to be wrong before the encoder export fail before it, not after minutes of torch.onnx."""

from __future__ import annotations

from pathlib import Path

import pytest
from embedpipe import ONNXPipeline, ONNXPipelineConfig
from embedpipe.errors import ConfigError, EmbedpipeError, UnsupportedModelError

from tests.models import HIDDEN

CASES: dict[str, tuple[dict[str, object], type[EmbedpipeError], str]] = {
    "truncate_dim wider than the embedding": ({"truncate_dim": HIDDEN + 1}, ConfigError, f"use at most {HIDDEN}"),
    "impossible truncate_dim": ({"truncate_dim": 0}, ConfigError, "at least 1"),
    "unknown prompt_name": ({"prompt_name": "question"}, ConfigError, "'question'"),
    "unknown pooling": ({"pooling": "nope"}, ConfigError, "no pooler named 'nope'"),
    "unknown tokenizer": ({"tokenizer": "nope"}, ConfigError, "no tokenizer named 'nope'"),
    "batch_chunk 0": ({"batch": True, "batch_chunk": 0}, ConfigError, "batch_chunk 0"),
    "max_seq_length 0": ({"max_seq_length": 0}, ConfigError, "max_seq_length 0 is impossible"),
    "prompt the op tokenizer cannot place": ({"prompt": "query: ", "tokenizer": "bert-op"}, UnsupportedModelError, "cannot put the prompt"),
}


@pytest.fixture
def no_encoder_export(monkeypatch: pytest.MonkeyPatch) -> None:
    """Any call of the encoder export fails the test: the error must come first."""

    def refuse(*args: object, **kwargs: object) -> None:
        pytest.fail("the encoder export ran although the settings were already known to be wrong")

    monkeypatch.setattr("embedpipe.pipeline.export_encoder", refuse)


@pytest.mark.parametrize("case", CASES)
def test_known_wrong_settings_fail_before_the_encoder_export(case: str, tiny_model, no_encoder_export: None) -> None:  # type: ignore[no-untyped-def]
    options, error, message = CASES[case]
    folder: Path = tiny_model("bert-uncased")
    with pytest.raises(error, match=message) as caught:
        ONNXPipeline(folder, ONNXPipelineConfig(**options)).build()
    assert "\n" not in str(caught.value)
