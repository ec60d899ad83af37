"""Configuration: the model's declarations by default, overrides that touch only what they name."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from embedpipe import ConfigError, EmbeddingModelConfig, ONNXPipelineConfig
from embedpipe.config import resolve
from embedpipe.source import load_source


@pytest.fixture(scope="module")
def minilm(minilm_dir: Path):  # type: ignore[no-untyped-def]
    return load_source(minilm_dir)


def test_empty_config_takes_everything_from_the_model(minilm) -> None:  # type: ignore[no-untyped-def]
    settings = resolve(ONNXPipelineConfig(), minilm)
    assert (settings.tokenizer, settings.max_seq_length, settings.pooling) == ("wordpiece", 256, "mean")
    assert [p.name for p in settings.post_processors] == ["normalize"]
    assert settings.opset == 17 and settings.validate


def test_each_property_overrides_only_what_it_names(minilm) -> None:  # type: ignore[no-untyped-def]
    settings = resolve(ONNXPipelineConfig(pooling="CLS"), minilm)
    assert settings.pooling == "cls" and settings.max_seq_length == 256 and settings.normalizes
    settings = resolve(ONNXPipelineConfig(normalize=False, max_seq_length=128), minilm)
    assert not settings.normalizes and settings.max_seq_length == 128 and settings.pooling == "mean"


def test_attributes_can_be_set_after_creation_as_in_oml4py(minilm) -> None:  # type: ignore[no-untyped-def]
    config = EmbeddingModelConfig()
    config.max_seq_length = 64
    config.post_processors = [{"name": "Pooling", "type": "max"}, {"name": "Normalize"}]
    settings = resolve(config, minilm)
    assert (settings.max_seq_length, settings.pooling, [p.name for p in settings.post_processors]) == (64, "max", ["normalize"])


def test_template_needs_max_seq_length_and_sets_mean_normalize(minilm) -> None:  # type: ignore[no-untyped-def]
    assert ONNXPipelineConfig.show_templates() == ["text"]
    with pytest.raises(ConfigError, match="max_seq_length"):
        ONNXPipelineConfig.from_template("text")
    with pytest.raises(ConfigError, match="no template named 'image'"):
        ONNXPipelineConfig.from_template("image", max_seq_length=8)
    settings = resolve(ONNXPipelineConfig.from_template("text", max_seq_length=512), minilm)
    assert (settings.max_seq_length, settings.pooling, settings.normalizes) == (512, "mean", True)


@pytest.mark.parametrize("value", [0, 1, 513, -4, True])
def test_impossible_max_seq_length(minilm, value: int) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ConfigError, match="max_seq_length"):
        resolve(ONNXPipelineConfig(max_seq_length=value), minilm)


def test_unknown_property_lists_the_known_ones() -> None:
    with pytest.raises(ConfigError, match="unknown config property 'max_len'.*max_seq_length"):
        ONNXPipelineConfig(max_len=3)


def test_opset_outside_oracle_range(minilm) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ConfigError, match="opset 21"):
        resolve(ONNXPipelineConfig(opset=21), minilm)


def test_preset_starts_the_config_but_the_model_files_win(minilm, caplog: pytest.LogCaptureFixture) -> None:  # type: ignore[no-untyped-def]
    names = ONNXPipelineConfig.show_preconfigured()
    assert "sentence-transformers/all-MiniLM-L6-v2" in names
    specs = ONNXPipelineConfig.show_preconfigured(include_properties=True, model_name="BAAI/bge-small-en-v1.5")
    assert specs["BAAI/bge-small-en-v1.5"]["pooling"] == "cls" and "_source" in specs["BAAI/bge-small-en-v1.5"]
    config = ONNXPipelineConfig("BAAI/bge-small-en-v1.5")  # its preset says cls; MiniLM's files say mean
    with caplog.at_level(logging.WARNING):
        settings = resolve(config, minilm)
    assert settings.pooling == "mean"
    assert "using the model's own value" in caplog.text
    assert resolve(ONNXPipelineConfig("BAAI/bge-small-en-v1.5", pooling="max"), minilm).pooling == "max"


def test_dense_entry_without_weights_needs_a_declared_dense(minilm) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ConfigError, match="no Dense module"):
        resolve(ONNXPipelineConfig(post_processors=[{"name": "Dense", "in_features": 384, "out_features": 8}]), minilm)


def test_int8_and_fp16_together_is_refused(minilm) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ConfigError, match="quantize_model and use_float16"):
        resolve(ONNXPipelineConfig(quantize_model=True, use_float16=True), minilm)
