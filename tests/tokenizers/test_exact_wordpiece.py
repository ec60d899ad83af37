"""What only the exact WordPiece stage has, against Hugging Face (the checks every family shares
are in test_conformance.py): upper-casing and runs of neighbouring code points swept over all of
Unicode, normalized added tokens, the do_lower_case override, and refusals that name the op
back-end as the way out. References are always Hugging Face's, never the graph's own output.
"""

from __future__ import annotations

import dataclasses
import random

import pytest
from embedpipe import contract
from embedpipe.errors import UnsupportedModelError
from embedpipe_tokenizers.ops.bert_op import build_bert_op_graph
from embedpipe_tokenizers.wordpiece import build_exact_wordpiece_graph
from stage_cases import CASES, assert_each_alone, assert_no_mismatch, assert_words_match, stage_case
from stage_checks import added_token, edited_tokenizer_json
from tokenizers import Tokenizer
from wordpiece_cases import UNSUPPORTED, WordPieceCase, piece_texts, random_texts

NAMES = CASES[contract.WORDPIECE]


def case_of(request: pytest.FixtureRequest, name: str) -> WordPieceCase:
    return stage_case(request, contract.WORDPIECE, name)  # type: ignore[return-value]


@pytest.fixture(params=NAMES)
def case(request: pytest.FixtureRequest) -> WordPieceCase:
    return case_of(request, request.param)


def test_no_loop(case: WordPieceCase) -> None:
    """The WordPiece stage is a straight graph: no Loop for ONNX Runtime to iterate."""
    assert "Loop" not in {n.op_type for n in case.model.graph.node}


def test_every_code_point_upper_cased_alone(case: WordPieceCase) -> None:
    """``chr(cp).upper()`` as Hugging Face sees it alone, for every code point whose upper case
    differs from it: capitals in every script, and "ß" -> "SS"-like growth."""
    changed = [chr(cp).upper() for cp in case.swept_code_points() if chr(cp).upper() != chr(cp)]
    assert len(changed) > (1000 if case.full_sweeps else 500)
    assert_each_alone(case.untruncated(), changed)


def test_every_code_point_upper_cased_inside_a_word(case: WordPieceCase) -> None:
    """"AB" + chr(cp).upper() + "CD" for every code point swept (as-is: test_conformance.py)."""
    assert_words_match(case.untruncated(), ["AB" + chr(cp).upper() + "CD" for cp in case.swept_code_points()], 2000)


@pytest.mark.parametrize("upper", [False, True], ids=["as-is", "upper-cased"])
def test_code_point_runs_as_words(case: WordPieceCase, upper: bool) -> None:
    """Words of 8 consecutive code points (then upper-cased), so neighbours meet: combining marks
    next to each other (canonical reordering), a letter before its marks, CJK and punctuation
    runs, several unknown characters in one word."""
    swept = case.swept_code_points()
    words = ["".join(map(chr, swept[i : i + 8])) for i in range(0, len(swept), 8)]
    assert_words_match(case.untruncated(), [w.upper() for w in words] if upper else words, 500)


def test_long_random_unicode_strings(minilm: WordPieceCase) -> None:
    """10,000 seeded random strings over all of Unicode, 0 to 5,000 characters: 60% short (under
    40 items, most under 100 characters), 40% spread uniformly over the whole range (most of those
    reach truncation at 256 tokens)."""
    texts = random_texts(minilm, 10000, seed=17, long_share=0.4, longest=5000)
    lengths = [len(t) for t in texts]
    assert min(lengths) == 0 and 4900 < max(lengths) <= 5000 and sum(n > 1000 for n in lengths) > 3000
    assert_no_mismatch(minilm, texts)


# Added tokens with every flag real WordPiece tokenizers use, normalized ones (matched in the
# normalized text: lower-cased, accents stripped, CJK spaced, controls dropped) among them.
NORMALIZED_TOKENS = {
    "flags": [
        added_token("<UNKNOWN>", 0, normalized=True),
        added_token("Hello World", 1, normalized=True, special=False),
        added_token("Café", 2, normalized=True, lstrip=True),
        added_token("<nr>", 3, normalized=True, rstrip=True),
        added_token("[NOTE]", 4, special=False),
        added_token("<m>", 5, lstrip=True),
    ],
    "cjk": [
        added_token("中文", 0, normalized=True),
        added_token("中x", 1, normalized=True, special=False),
        added_token("<unk>", 2, normalized=True),
        added_token("Ǆ", 3, normalized=True),
    ],
}


def typed_tokens(contents: list[str], count: int, seed: int) -> list[str]:
    """Added tokens typed as they are, in other case, with accents, controls, NBSP, ZWSP or CJK
    inside or around, glued to words and to each other."""
    rng = random.Random(seed)
    changes = [
        str.upper,
        str.lower,
        str.title,
        lambda s: s.replace(" ", "\u00a0"),
        lambda s: s.replace(" ", "  "),
        lambda s: s[:1] + "\x01" + s[1:],
        lambda s: s[:1] + "\u200b" + s[1:],
        lambda s: s[:1] + "\u0301" + s[1:],
        lambda s: s.replace("e", "\u00e9").replace("E", "\u00c9"),
        lambda s: s.replace("é", "e\u0301"),
        lambda s: s[:-1],
    ]
    glue = ["", " ", "  ", "\t", "a", "\u4e2d", "\u00a0", "\x00", "-"]
    out = []
    for _ in range(count):
        parts = []
        for _ in range(rng.randrange(1, 6)):
            token = rng.choice(contents)
            parts.append(rng.choice(changes)(token) if rng.random() < 0.5 else token)
        out.append("".join(rng.choice(glue) + part for part in parts) + rng.choice(glue))
    return out


@pytest.mark.parametrize("tokens", sorted(NORMALIZED_TOKENS))
@pytest.mark.parametrize("name", ["bert-uncased", "bert-cased", "bert-odd"])
def test_normalized_added_tokens(request: pytest.FixtureRequest, tmp_path, name: str, tokens: str) -> None:
    """Added tokens with normalized true (and lstrip, rstrip, special false) give Hugging Face's ids
    however they are typed, under three normalizer settings."""
    base = case_of(request, name)
    entries = NORMALIZED_TOKENS[tokens]

    def add(config: dict) -> None:
        first = len(config["model"]["vocab"]) + 10
        config["added_tokens"] += [{**entry, "id": first + entry["id"]} for entry in entries]

    folder = tmp_path / name
    folder.mkdir()
    edited_tokenizer_json(base.tokenizer_json, folder, add)
    case = dataclasses.replace(base, name=f"{name}+{tokens}", folder=folder)
    contents = [entry["content"] for entry in entries] + base.added_contents
    texts = typed_tokens(contents, 3000, seed=31) + random_texts(case, 1000, seed=32) + piece_texts(case, 1000, seed=33)
    assert_no_mismatch(case, texts)


@pytest.mark.parametrize(("name", "lower"), [("minilm", False), ("bert-cased", True)])
def test_do_lower_case_override(request: pytest.FixtureRequest, name: str, lower: bool) -> None:
    transformers = pytest.importorskip("transformers")
    base = case_of(request, name)
    case = dataclasses.replace(base, name=f"{base.name} do_lower_case={lower}", do_lower_case=lower)
    auto = transformers.AutoTokenizer.from_pretrained(case.folder, do_lower_case=lower)

    def reference(texts: list[str]) -> list[list[int]]:
        return [auto(t, truncation=True, max_length=case.max_length)["input_ids"] for t in texts]

    texts = random_texts(case, 800, seed=21) + piece_texts(case, 800, seed=22) + ["Héllo WORLD İ ÖSTERREICH Ǆ ß"]
    assert_no_mismatch(case, texts, reference=reference)
    assert_no_mismatch(case, texts)


# BERT-family tokenizers the exact graph cannot prove exact but the BertTokenizer op builds: their
# refusal names the op back-end. The others are outside the family, which the op refuses too.
BERT_OP_WAY_OUT = {
    "single_word token",
    "normalized token normalizing to nothing",
    "normalized token of marks",
    "lstrip beside a normalized token ending in whitespace",
    "overlapping tokens",
    "rstrip beside a leading-space token",
}


def assert_names_bert_op(error: UnsupportedModelError) -> None:
    """One line, "reason; fix", whose fix names the op back-end, both ways to choose it, and where
    its measured mismatch rates are."""
    assert str(error) == f"{error.problem}; {error.fix}" and "\n" not in str(error)
    for text in ('tokenizer="bert-op"', "--tokenizer bert-op", "mismatch rate", "docs/tokenizers.md"):
        assert text in error.fix, f"{text!r} missing from {str(error)!r}"


@pytest.mark.parametrize("what", sorted(UNSUPPORTED))
def test_refusals_name_the_way_out(request: pytest.FixtureRequest, tmp_path, what: str) -> None:
    """The way out a refusal names is checked to work (or, for a model outside the family, the op
    is checked to refuse it too, so it is not offered); the refusal itself: test_conformance.py."""
    case = case_of(request, "bert-uncased")
    path = edited_tokenizer_json(case.tokenizer_json, tmp_path, UNSUPPORTED[what])
    with pytest.raises(UnsupportedModelError) as error:
        build_exact_wordpiece_graph(path, 64, with_token_type_ids=True)
    if what in BERT_OP_WAY_OUT:
        assert_names_bert_op(error.value)
        build_bert_op_graph(tmp_path, 64, with_token_type_ids=True)
    else:
        assert "bert-op" not in str(error.value) and "plugin for this model's family" in error.value.fix
        with pytest.raises(UnsupportedModelError):
            build_bert_op_graph(tmp_path, 64, with_token_type_ids=True)


def test_canonical_reordering_is_refused(request: pytest.FixtureRequest, tmp_path) -> None:
    """Two marks that survive accent stripping with different combining classes (U+1D16D, class
    226, before U+1D165, class 216) swap places when Hugging Face normalizes them together; with
    both in the vocabulary, character tables could not follow, so the build must refuse."""
    case = case_of(request, "bert-uncased")

    def add_marks(config: dict) -> None:
        vocab = config["model"]["vocab"]
        for text in ("\U0001d165", "\U0001d16d", "##\U0001d165", "##\U0001d16d"):
            vocab[text] = len(vocab)

    path = edited_tokenizer_json(case.tokenizer_json, tmp_path, add_marks)
    hf = Tokenizer.from_file(str(path))
    # Both orders give the same pieces (in class order), which no per-character table can give.
    swapped, ordered = (hf.encode(t, add_special_tokens=False).tokens for t in ("a\U0001d16d\U0001d165", "a\U0001d165\U0001d16d"))
    assert swapped == ordered and "[UNK]" not in ordered and len(ordered) == 3
    with pytest.raises(UnsupportedModelError, match="canonical reordering") as error:
        build_exact_wordpiece_graph(path, 64, with_token_type_ids=True)
    assert_names_bert_op(error.value)
    build_bert_op_graph(tmp_path, 64, with_token_type_ids=True)
