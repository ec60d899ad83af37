"""The exact byte-level BPE graph on GPT2's and roberta-base's real vocabularies (50,257 / 50,265
tokens, 50,000 merges; tests/data/tokenizers), one in each op profile: ids identical to Hugging
Face's ``tokenizers`` on real text, every code point, random Unicode, long documents and issue 13's
worst cases (their speed is measured by bench/bench_scale.py, not asserted here).

Each real-size graph is built once per session (about 25 s of CPU each).
"""

from __future__ import annotations

import pathlib
import random

import pytest
from bpe_cases import BpeCase, piece_texts, random_texts
from embedpipe import contract
from realscale_bpe import gpt2_folder, roberta_folder
from stage_cases import CODE_POINTS, assert_no_mismatch, assert_words_match, code_point_sample
from stage_checks import assert_old_runtimes_give_reference_ids

MAX_LENGTH = 512
# One graph per vocabulary, each profile once: the code-point path is the profile's, the merges the
# vocabulary's (each real-size graph costs ~25 s of CPU to build).
CASES = [("gpt2", contract.ORACLE_PROFILE), ("roberta-base", contract.PORTABLE_PROFILE)]


@pytest.fixture(scope="session")
def real_folders(tmp_path_factory: pytest.TempPathFactory) -> dict[str, pathlib.Path]:
    root = tmp_path_factory.mktemp("real_bpe")
    return {"gpt2": gpt2_folder(root / "gpt2"), "roberta-base": roberta_folder(root / "roberta-base")}


@pytest.fixture(scope="session")
def real_cases(real_folders: dict[str, pathlib.Path]) -> dict[tuple[str, str], BpeCase]:
    """The four real-size cases; each graph is built on first use and kept for the session."""
    return {
        (name, profile): BpeCase(f"{name} ({profile})", real_folders[name], MAX_LENGTH, op_profile=profile)
        for name, profile in CASES
    }


@pytest.fixture(params=CASES, ids=[f"{n}-{p}" for n, p in CASES])
def real(request: pytest.FixtureRequest, real_cases: dict[tuple[str, str], BpeCase]) -> BpeCase:
    return real_cases[request.param]


def adversarial_texts(length: int, seed: int) -> dict[str, str]:
    """Long single words and runs that need many distinct merges (issue 13's 101x CJK and 90x digit
    runs among them), and runs of one character."""
    rng = random.Random(seed)

    def run(alphabet: str | list[str]) -> str:
        return "".join(rng.choice(alphabet) for _ in range(length))

    return {
        "cjk": run([chr(c) for c in range(0x4E00, 0x9FA6)]),
        "hangul": run([chr(c) for c in range(0xAC00, 0xD7A4)]),
        "digits": run("0123456789"),
        "letters": run("abcdefghijklmnopqrstuvwxyz"),
        "cyrillic": run("абвгдежзийклмнопрстуфхцчшщ"),
        "punctuation": run("!@#$%^&*()-=+[]{};:,.<>/?"),
        "emoji": run([chr(c) for c in range(0x1F600, 0x1F650)]),
        "one letter": "a" * length,
        "one digit": "1" * length,
        "one cjk": "\u4e2d" * length,
        "dashes": "-" * length,
        "spaces": " " * length,
        "newlines": "\n" * length,
        "space tab": " \t" * (length // 2),
        "e acute": "\u00e9" * length,
    }


def test_real_text_lines(real: BpeCase, corpus: list[str]) -> None:
    assert_no_mismatch(real, corpus)


def test_every_code_point_alone(real: BpeCase) -> None:
    assert_no_mismatch(real, [chr(cp) for cp in code_point_sample()])


def test_every_code_point_inside_a_word(real_cases: dict[tuple[str, str], BpeCase]) -> None:
    """All 1,112,064 code points between letters, "ab" + c + "cd", on GPT2's vocabulary (the code-point
    path of each profile is swept whole in test_utf8.py and by the tiny tokenizers' tests)."""
    real = real_cases["gpt2", contract.ORACLE_PROFILE].untruncated()
    assert_words_match(real, ["ab" + chr(cp) + "cd" for cp in CODE_POINTS], 2000)


def test_random_unicode_and_vocabulary_pieces(real: BpeCase) -> None:
    """1,000 seeded random strings (20% of 0 to 5,000 characters) and 1,000 strings of real
    vocabulary pieces with contractions, NUL, whitespace runs and typed special tokens."""
    texts = random_texts(real, 1000, seed=21, long_share=0.2, longest=5000) + piece_texts(real, 1000, seed=22)
    assert_no_mismatch(real, texts)


def test_long_documents_and_worst_cases(real: BpeCase, corpus: list[str]) -> None:
    """20,000- and 50,000-character documents and every adversarial 20,000-character run."""
    rng = random.Random(4)
    prose = " ".join(rng.choice(corpus) for _ in range(2000))
    assert_no_mismatch(real, [prose[:20000], prose[:50000], *adversarial_texts(20000, seed=5).values()])


def test_agrees_with_autotokenizer(real_cases: dict[tuple[str, str], BpeCase], corpus: list[str]) -> None:
    """The rebuilt tokenizer.json files are what transformers makes of them, and the graph agrees."""
    transformers = pytest.importorskip("transformers")
    for case in real_cases.values():
        auto = transformers.AutoTokenizer.from_pretrained(case.folder)

        def reference(texts: list[str], auto=auto, case=case) -> list[list[int]]:
            read = [t.split("\x00", 1)[0] for t in texts] if case.op_profile == contract.ORACLE_PROFILE else texts
            return [auto(t, truncation=True, max_length=MAX_LENGTH)["input_ids"] for t in read]

        assert_no_mismatch(case, random_texts(case, 300, seed=23) + corpus[::10], reference=reference)


@pytest.mark.compat
def test_old_runtimes_give_the_same_ids(real: BpeCase, corpus: list[str], tmp_path: pathlib.Path) -> None:
    """ONNX Runtime 1.15.1 + extensions 0.10.1 and 1.20.1 + 0.12.0 (Oracle 23ai and 26ai) give HF's ids
    at real size (the empty text, a masked pad here, is in the other tests); texts repeat, since 1.15.1 once went wrong from a session's second run on."""
    case = real
    worst = list(adversarial_texts(3000, seed=6).values())
    texts = ["Hello world's <mask>!", "x </s> y <|endoftext|>", *corpus[:40], *worst, *worst[:3]]
    texts += random_texts(case, 40, seed=24)
    assert_old_runtimes_give_reference_ids(case.model, MAX_LENGTH, texts, case.reference_ids, tmp_path)
