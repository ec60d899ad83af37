"""The exact Unigram stage at XLM-R's real vocabulary size: 250,002 pieces (realscale_unigram.py),
Hugging Face's ids on the real-text corpus, every code point, random Unicode and long documents,
in both op profiles and under Oracle's two ONNX Runtime versions; the sub-graph at most twice the
size of tokenizer.json. How long the worst inputs take is measured by bench/bench_scale.py.

The ``oracle`` profile reads text through the GPT2Tokenizer op, which stops at the first NUL (a
declared limitation, docs/tokenizers.md): its texts are compared with their NULs removed.
"""

from __future__ import annotations

import pathlib
import random

import numpy as np
import pytest
from embedpipe.oprule import assert_op_rule
from realscale_unigram import VOCAB_SIZE, build_realscale_xlmr
from stage_cases import CODE_POINTS, UNTRUNCATED, assert_each_alone, assert_no_mismatch
from stage_checks import assert_old_runtimes_give_reference_ids
from unigram_cases import HARD, UnigramCase, random_texts

REAL_TEXT = pathlib.Path(__file__).resolve().parents[1] / "data" / "real_text.txt"
PROFILES = ["oracle", "portable"]
LENGTH = 100_000
WIDTH = 512  # ids carried out of the old runtimes per text
RNG_RUNS = random.Random(7)
# Inputs that make one long Viterbi segment (every character inside some multi-character piece).
ADVERSARIAL = {
    "dashes": "-" * LENGTH,
    "equals": "=" * LENGTH,
    "dots": "." * LENGTH,
    "digits": "".join(RNG_RUNS.choice("0123456789") for _ in range(LENGTH)),
    "one letter": "a" * LENGTH,
    "cjk": "".join(chr(RNG_RUNS.randint(0x4E00, 0x4FFF)) for _ in range(LENGTH)),
    "emoji": "".join(chr(RNG_RUNS.randint(0x1F600, 0x1F64F)) for _ in range(LENGTH)),
    "punctuation mix": "".join(RNG_RUNS.choice("-=._*#~") for _ in range(LENGTH)),
    "pieces run together": "".join(RNG_RUNS.choice(["the", "and", "ing", "tion", "00", "=="]) for _ in range(LENGTH))[:LENGTH],
}


def _lines() -> list[str]:
    return REAL_TEXT.read_text(encoding="utf-8").splitlines()


@pytest.fixture(scope="session")
def realscale_folder(tmp_path_factory: pytest.TempPathFactory) -> pathlib.Path:
    folder = tmp_path_factory.mktemp("realscale_xlmr")
    build_realscale_xlmr(folder, REAL_TEXT)
    return folder


@pytest.fixture(scope="session")
def realscale_cases(realscale_folder: pathlib.Path) -> dict[str, UnigramCase]:
    """One graph per profile, untruncated so that it serves every set (code points joined by "<s>"
    included), built on first use and kept for the session."""
    return {p: UnigramCase(f"xlmr-250k-{p}", realscale_folder, UNTRUNCATED, op_profile=p) for p in PROFILES}


@pytest.fixture(params=PROFILES)
def case(request: pytest.FixtureRequest, realscale_cases: dict[str, UnigramCase]) -> UnigramCase:
    return realscale_cases[request.param]


def _assert_same(case: UnigramCase, texts: list[str]) -> None:
    if case.op_profile == "oracle":
        texts = [t.replace("\x00", "") for t in texts]
    assert_no_mismatch(case, texts)


def test_the_vocabulary_has_xlmr_shape(realscale_cases: dict[str, UnigramCase]) -> None:
    pieces = realscale_cases["portable"].pieces
    assert len(pieces) == VOCAB_SIZE
    assert pieces[:4] == ["<s>", "<pad>", "</s>", "<unk>"] and pieces[-1] == "<mask>"
    lengths = np.array([len(p) for p in pieces])
    assert lengths.max() == 16 and np.median(lengths) <= 6
    scripts = {"a", "\u0430", "\u03b1", "\u05d0", "\u0627", "\u0905", "\u0e01", "\uac00", "\u4e00", "\u3042"}
    assert scripts <= {ch for p in pieces for ch in p}


def test_only_ops_the_profile_allows(case: UnigramCase) -> None:
    assert_op_rule(case.model, op_profile=case.op_profile)


def test_subgraph_at_most_twice_the_tokenizer_json(case: UnigramCase) -> None:
    assert case.model.ByteSize() <= 2 * case.tokenizer_json.stat().st_size


def test_real_text_lines(case: UnigramCase) -> None:
    _assert_same(case, _lines())


def test_random_unicode_strings(case: UnigramCase) -> None:
    _assert_same(case, random_texts(case, 2000, seed=11) + random_texts(case, 20, seed=12, max_length=5000) + list(HARD))


def test_every_code_point_alone(case: UnigramCase) -> None:
    """Each code point once, 4,000 per text between "<s>" (Hugging Face normalizes and splits the
    text between added tokens apart, so each stays alone)."""
    assert_each_alone(case, [chr(cp) for cp in CODE_POINTS if cp or case.op_profile != "oracle"], 4000)


def test_long_documents_and_runs(case: UnigramCase) -> None:
    document = " ".join(_lines())
    _assert_same(case, [document[:20000], document[-LENGTH:], *ADVERSARIAL.values(), "x" + "-" * 5000 + "y" + "=" * 129])


@pytest.mark.compat
@pytest.mark.parametrize("profile", PROFILES)
def test_old_runtimes_give_the_same_ids(realscale_cases: dict[str, UnigramCase], profile: str, tmp_path: pathlib.Path) -> None:
    """ONNX Runtime 1.15.1 and 1.20.1 (Oracle 23ai and 26ai) load the 250,002-piece graph and give HF's ids."""
    case = realscale_cases[profile]
    texts = ["Hello world's <mask>!", "", "  x\n\ny ", "\u4e2d\u6587 \U0001f600", "isppp", "-" * 3000, "=" * 700 + "x"]
    texts += [t for t in HARD if "\x00" not in t] + random_texts(case, 40, seed=13) + _lines()[::40]
    texts = [t.replace("\x00", "") for t in texts]
    texts = [t for t in texts if len(case.reference.encode(t).ids) <= WIDTH]  # the runner's vectors are WIDTH wide
    assert_old_runtimes_give_reference_ids(case.model, WIDTH, texts, case.reference_ids, tmp_path)
