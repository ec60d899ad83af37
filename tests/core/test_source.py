"""Reading a model: declarations from the folder, the hub path through the HF cache, and bad input."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from embedpipe import ModelSourceError
from embedpipe.source import PostModule, load_source


def test_minilm_declarations_are_read(minilm_dir: Path) -> None:
    source = load_source(minilm_dir)
    assert source.pooling == "mean"
    assert source.post_modules == [PostModule("normalize")]
    assert source.max_seq_length == 256
    assert source.hidden_size == 384
    assert source.tokenizer_class == "BertTokenizer"
    assert source.tokenizer_model_type == "WordPiece"


def test_dense_module_is_read_in_order(tiny_model) -> None:  # type: ignore[no-untyped-def]
    folder = tiny_model("bert-cased", dense_out=16, pooling="cls")
    source = load_source(folder)
    assert source.pooling == "cls"
    assert [m.kind for m in source.post_modules] == ["dense", "normalize"]
    assert (source.post_modules[0].path / "config.json").is_file()


def _hub_cache(cache: Path, repo: str, model_dir: Path, commit: str = "0" * 40) -> Path:
    """Lay a model out exactly as huggingface_hub's cache does, so offline resolution is real."""
    repo_dir = cache / f"models--{repo.replace('/', '--')}"
    snapshot = repo_dir / "snapshots" / commit
    shutil.copytree(model_dir, snapshot)
    (repo_dir / "refs").mkdir(parents=True)
    (repo_dir / "refs" / "main").write_text(commit)
    return snapshot


def test_hub_id_resolves_through_the_cache_offline(minilm_dir: Path, tmp_path: Path) -> None:
    snapshot = _hub_cache(tmp_path, "sentence-transformers/all-MiniLM-L6-v2", minilm_dir)
    source = load_source("sentence-transformers/all-MiniLM-L6-v2", cache_dir=tmp_path)
    assert source.path == snapshot
    assert source.max_seq_length == 256
    pinned = load_source("sentence-transformers/all-MiniLM-L6-v2", revision="0" * 40, cache_dir=tmp_path)
    assert pinned.revision == "0" * 40 and pinned.path == snapshot


def test_hub_id_not_cached_offline_is_one_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ModelSourceError, match="not in the local Hugging Face cache"):
        load_source("someone/not-downloaded", cache_dir=tmp_path)


@pytest.fixture
def minilm_copy(minilm_dir: Path, tmp_path: Path) -> Path:
    target = tmp_path / "model"
    shutil.copytree(minilm_dir, target)
    return target


def test_missing_folder(tmp_path: Path) -> None:
    with pytest.raises(ModelSourceError, match="does not exist"):
        load_source(tmp_path / "nope")


def test_empty_folder(tmp_path: Path) -> None:
    with pytest.raises(ModelSourceError, match="is empty"):
        load_source(tmp_path)


def test_folder_without_tokenizer(minilm_copy: Path) -> None:
    for name in ("tokenizer.json", "vocab.txt"):
        (minilm_copy / name).unlink()
    with pytest.raises(ModelSourceError, match="no tokenizer files"):
        load_source(minilm_copy)


def test_truncated_weights(minilm_copy: Path) -> None:
    weights = minilm_copy / "model.safetensors"
    weights.write_bytes(weights.read_bytes()[: weights.stat().st_size // 2])
    with pytest.raises(ModelSourceError, match="corrupt or truncated"):
        load_source(minilm_copy)


def test_pickled_weights_are_never_loaded(minilm_copy: Path) -> None:
    (minilm_copy / "model.safetensors").rename(minilm_copy / "pytorch_model.bin")
    with pytest.raises(ModelSourceError, match="only pickled weights"):
        load_source(minilm_copy)


def test_remote_code_needs_consent(minilm_copy: Path) -> None:
    config = json.loads((minilm_copy / "config.json").read_text())
    config["auto_map"] = {"AutoModel": "modeling.Custom"}
    (minilm_copy / "config.json").write_text(json.dumps(config))
    with pytest.raises(ModelSourceError, match="trust_remote_code"):
        load_source(minilm_copy)
    assert load_source(minilm_copy, trust_remote_code=True).trust_remote_code


def test_broken_config_json(minilm_copy: Path) -> None:
    (minilm_copy / "config.json").write_text("{not json")
    with pytest.raises(ModelSourceError, match="config.json .* not valid JSON"):
        load_source(minilm_copy)
