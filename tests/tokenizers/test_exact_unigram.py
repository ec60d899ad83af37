"""The exact SentencePiece-Unigram graph gives Hugging Face's ids on every input we can think of.

Three tokenizers trained here (see unigram_cases.py): XLM-R and T5 as transformers 5 converts
them, and the layout of xlm-roberta-base's tokenizer.json on the Hub.
"""

from __future__ import annotations

import pathlib
import random

import pytest
from embedpipe import contract
from embedpipe.errors import ConfigError, UnsupportedModelError
from embedpipe.oprule import assert_op_rule
from embedpipe_tokenizers.unigram import build_exact_unigram_graph
from stage_checks import assert_old_runtimes_give_reference_ids, edited_tokenizer_json
from unigram_cases import HARD, UnigramCase, random_texts, train_models

REAL_TEXT = pathlib.Path(__file__).resolve().parents[1] / "data" / "real_text.txt"
NAMES = ["xlmr", "t5", "xlmr-hub"]
MAX_LENGTHS = {"xlmr": 128, "t5": 64, "xlmr-hub": 512}
CODE_POINTS = [cp for cp in range(0x110000) if not 0xD800 <= cp <= 0xDFFF]


@pytest.fixture(scope="session")
def unigram_folders(tmp_path_factory: pytest.TempPathFactory) -> dict[str, pathlib.Path]:
    return train_models(tmp_path_factory.mktemp("unigram"), REAL_TEXT)


@pytest.fixture(scope="session")
def unigram_cases(unigram_folders: dict[str, pathlib.Path]) -> dict[str, UnigramCase]:
    return {name: UnigramCase(name, unigram_folders[name], MAX_LENGTHS[name]) for name in NAMES}


@pytest.fixture(params=NAMES)
def case(request: pytest.FixtureRequest, unigram_cases: dict[str, UnigramCase]) -> UnigramCase:
    return unigram_cases[request.param]


@pytest.fixture(scope="session")
def bulk(unigram_folders: dict[str, pathlib.Path]) -> UnigramCase:
    """The Hub layout without truncation, for many short texts joined by a special token (Hugging
    Face normalizes and splits the text between added tokens apart, so each stays alone)."""
    return UnigramCase("xlmr-hub-bulk", unigram_folders["xlmr-hub"], 10**7)


def _assert_same(case: UnigramCase, texts: list[str]) -> None:
    bad = case.mismatches(texts)
    assert not bad, f"{len(bad)} of {len(texts)} differ, first: {bad[0][0]!r}: {bad[0][1][:30]} != {bad[0][2][:30]}"


def _joined(texts: list[str], per_text: int = 4000) -> list[str]:
    return ["<s>".join(texts[i : i + per_text]) for i in range(0, len(texts), per_text)]


def test_outputs_and_shapes(case: UnigramCase) -> None:
    out = case.run("Hello world")
    assert list(out) == [contract.INPUT_IDS, contract.ATTENTION_MASK]
    assert out[contract.ATTENTION_MASK] == [1] * len(out[contract.INPUT_IDS])
    assert out[contract.INPUT_IDS] == case.reference.encode("Hello world").ids


def test_only_ops_oracle_accepts(case: UnigramCase) -> None:
    assert_op_rule(case.model, op_profile=case.op_profile)


def test_hard_characters(case: UnigramCase) -> None:
    texts = [*HARD, *("ab" + h + "cd" for h in HARD), *(h + h for h in HARD), "".join(HARD), " ".join(HARD)]
    texts += [
        "isppp",
        "a\x00b",
        "\x00",
        "<mask>",
        "x <mask> y",
        "x<mask>y",
        "</s>",
        "a </s> b",
        "<s><s>",
        "<unk>",
        "<pad>x",
        "<mask",
    ]
    texts += [
        "x  <mask>  y",
        "\t<mask>\n",
        "<mask> ",
        " <mask>",
        "a\u3000<mask>",
        "<<mask>>",
        "<extra_id_0> x",
        "\u2581x \u2581 y\u2581",
    ]
    _assert_same(case, texts)


def test_empty_and_whitespace(case: UnigramCase) -> None:
    texts = [
        "",
        " ",
        "  ",
        "\t",
        "\n",
        "\r\n",
        " \t\n ",
        "\xa0",
        "\u3000",
        "\u2028",
        "\x85",
        "\x00",
        "\x01\x02",
        "\u200b",
        "a ",
        " a",
        "a  ",
        "  a  b  ",
    ]
    _assert_same(case, texts)


def test_real_text_lines(case: UnigramCase) -> None:
    lines = REAL_TEXT.read_text(encoding="utf-8").splitlines()
    _assert_same(case, lines)


def test_random_unicode_strings(case: UnigramCase) -> None:
    _assert_same(case, random_texts(case, 3000, seed=1))


def test_long_random_unicode_strings(case: UnigramCase) -> None:
    _assert_same(case, random_texts(case, 60, seed=2, max_length=5000))


def test_vocabulary_pieces_with_spaces(case: UnigramCase) -> None:
    rng = random.Random(3)
    pieces = case.pieces
    texts = [
        "".join(rng.choice(pieces).replace("\u2581", rng.choice([" ", ""])) for _ in range(rng.randint(1, 12)))
        for _ in range(3000)
    ]
    _assert_same(case, texts)


def test_every_code_point_alone(bulk: UnigramCase) -> None:
    _assert_same(bulk, _joined([chr(cp) for cp in CODE_POINTS]))


def test_every_code_point_inside_a_word(bulk: UnigramCase) -> None:
    _assert_same(bulk, _joined(["ab" + chr(cp) + "cd" for cp in CODE_POINTS]))


@pytest.mark.parametrize("before", ["A", "\uff21", "\xa0", "e\u0301"])
def test_every_code_point_after_a_grapheme_start(bulk: UnigramCase, before: str) -> None:
    """Whether a character joins the grapheme before it decides whether a rule applies."""
    _assert_same(bulk, _joined([before + chr(cp) + "\u0301" for cp in CODE_POINTS]))


def test_every_code_point_before_a_letter(bulk: UnigramCase) -> None:
    """Prepend characters join the following letter into one grapheme."""
    _assert_same(bulk, _joined([chr(cp) + "A\u0301" for cp in CODE_POINTS]))


def test_truncation_edges(case: UnigramCase) -> None:
    rng = random.Random(4)
    body = case.max_length - (2 if case.name != "t5" else 1)
    words = [p.replace("\u2581", "") for p in case.pieces if p.startswith("\u2581") and len(p) > 2][:400]
    texts = []
    for extra in range(-3, 4):
        texts.append(" ".join(rng.choice(words) for _ in range(body + extra)))
        texts.append(" ".join(["ab"] * (body + extra)))
        texts.append("x" * (body + extra))
        texts.append("<mask>" * (body + extra))
    _assert_same(case, texts)


def test_long_inputs(case: UnigramCase) -> None:
    lines = REAL_TEXT.read_text(encoding="utf-8").splitlines()
    rng = random.Random(5)
    document = " ".join(lines)
    texts = [
        document[:20000],
        document[-50000:],
        "".join(rng.choice("abcdefghij") for _ in range(20000)),
        "a" * 20000,
        "<mask>" * 3000,
        "\xa0".join(lines)[:20000],
        "\u0301" * 5000,
        " " * 20000 + "x",
    ]
    _assert_same(case, texts)


def test_long_single_words(case: UnigramCase) -> None:
    """Words of tens of thousands of characters, summed from the word's start in the library's
    order: the vocabulary's characters at random, its pieces run together, and random Unicode
    (almost no spaces)."""
    rng = random.Random(6)
    chars = sorted({ch for piece in case.pieces for ch in piece if ch != "\u2581"})
    pieces = [p.replace("\u2581", "") for p in case.pieces if p.replace("\u2581", "")]
    runs = "".join(rng.choice(pieces) for _ in range(6000))[:20000]
    unicode_ = "".join(chr(rng.choice([rng.randint(0, 0xD7FF), rng.randint(0xE000, 0x10FFFF)])) for _ in range(50000))
    texts = ["".join(rng.choice(chars) for _ in range(20000)), runs, unicode_, "x" + runs + " " + unicode_[:5000]]
    _assert_same(case, texts)


@pytest.mark.parametrize("name", ["xlmr", "t5"])
def test_agrees_with_autotokenizer(unigram_cases: dict[str, UnigramCase], name: str) -> None:
    """The folders transformers saved itself (transformers 5 rebuilds an XLM-R tokenizer's
    pre-tokenizer from its class, so it does not follow an edited tokenizer.json like xlmr-hub's)."""
    from transformers import AutoTokenizer

    case = unigram_cases[name]
    tok = AutoTokenizer.from_pretrained(str(case.folder))
    lines = REAL_TEXT.read_text(encoding="utf-8").splitlines()[::7] + list(HARD) + ["x <mask> y", "", "a\x00b"]
    want = [tok(line, truncation=True, max_length=case.max_length)["input_ids"] for line in lines]
    got = case.ids(lines)
    bad = [(line, g, w) for line, g, w in zip(lines, got, want) if g != w]
    assert not bad, bad[:3]


def test_opset_18(unigram_cases: dict[str, UnigramCase]) -> None:
    case = UnigramCase("xlmr18", unigram_cases["xlmr"].folder, 128)
    case.__dict__["model"] = build_exact_unigram_graph(case.tokenizer_json, 128, opset=18)
    _assert_same(case, ["Hello world <mask>", "A\u0302\u0301 \uff36\u0653", ""])


def _set(path: str, value):
    def edit(config: dict) -> None:
        *parents, last = path.split(".")
        node = config
        for key in parents:
            node = node[key]
        node[last] = value

    return edit


UNSUPPORTED = {
    "byte-fallback": _set("model.byte_fallback", True),
    "bpe-model": _set("model.type", "BPE"),
    "prepend-first": _set(
        "pre_tokenizer", {"type": "Metaspace", "replacement": "\u2581", "prepend_scheme": "first", "split": True}
    ),
    "lowercase": _set("normalizer", {"type": "Lowercase"}),
    "whitespace-only": _set("pre_tokenizer", {"type": "WhitespaceSplit"}),
    "no-unk": _set("model.unk_id", None),
    "single-word-token": lambda c: c["added_tokens"][-1].update(single_word=True),
    "normalized-token": lambda c: c["added_tokens"][-1].update(normalized=True),
}


@pytest.mark.parametrize("what", sorted(UNSUPPORTED))
def test_unsupported_tokenizers_are_refused(unigram_cases: dict[str, UnigramCase], tmp_path, what: str) -> None:
    path = edited_tokenizer_json(unigram_cases["xlmr-hub"].tokenizer_json, tmp_path, UNSUPPORTED[what])
    with pytest.raises(UnsupportedModelError) as error:
        build_exact_unigram_graph(path, 64)
    assert "\n" not in str(error.value) and error.value.problem and error.value.fix


def test_max_length_must_hold_the_special_tokens(unigram_cases: dict[str, UnigramCase]) -> None:
    with pytest.raises(ConfigError):
        build_exact_unigram_graph(unigram_cases["xlmr"].tokenizer_json, 1)


@pytest.mark.compat
def test_old_runtimes_give_the_same_ids(unigram_cases: dict[str, UnigramCase], tmp_path) -> None:
    """ONNX Runtime 1.15.1 and 1.20.1 (Oracle 23ai and 26ai) load the graph and give HF's ids."""
    case = unigram_cases["xlmr-hub"]
    texts = [
        "Hello world's <mask>!",
        "",
        "a\x00b",
        "  x\n\ny ",
        "\u4e2d\u6587 \U0001f600",
        "long " * 400,
        "<mask>" * 300,
        "isppp",
    ]
    texts += list(HARD) + random_texts(case, 60, seed=9) + REAL_TEXT.read_text(encoding="utf-8").splitlines()[::40]
    assert_old_runtimes_give_reference_ids(case.model, case.max_length, texts, case.reference_ids, tmp_path)
