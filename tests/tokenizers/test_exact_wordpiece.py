"""The exact WordPiece graph against Hugging Face: ids must be identical on every input.

References are always Hugging Face's (``tokenizers`` with truncation, ``transformers.AutoTokenizer``),
never the graph's own output. On a failure the first mismatching strings are printed with both
id lists.
"""

from __future__ import annotations

import random
import time

import numpy as np
import pytest
from embedpipe import contract
from embedpipe.errors import ConfigError, UnsupportedModelError
from embedpipe_tokenizers.ops.bert_op import build_bert_op_graph
from embedpipe_tokenizers.wordpiece import build_exact_wordpiece_graph
from stage_checks import added_token, edited_tokenizer_json
from tokenizers import Tokenizer
from wordpiece_cases import (
    WHITESPACE,
    Case,
    added_contents,
    assert_no_mismatch,
    assert_words_match,
    piece_texts,
    random_texts,
    sweep_code_points,
    vocab_words,
)

TINY = ["bert-uncased", "bert-cased", "distilbert", "mpnet-template", "mpnet-roberta", "bert-odd"]

def case_of(request: pytest.FixtureRequest, name: str) -> Case:
    if name == "minilm":
        return request.getfixturevalue("minilm")
    return request.getfixturevalue("tiny_cases")[name]


@pytest.fixture(params=["minilm", *TINY])
def case(request: pytest.FixtureRequest) -> Case:
    return case_of(request, request.param)


def test_outputs_and_shapes(case: Case) -> None:
    names = [o.name for o in case.model.graph.output]
    want = [contract.INPUT_IDS, contract.ATTENTION_MASK] + ([contract.TOKEN_TYPE_IDS] if case.with_token_type_ids else [])
    assert names == want
    assert [i.name for i in case.model.graph.input] == [contract.TEXT]
    assert case.model.ir_version == 8
    out = case.run("Hello world, a [MASK] test!")
    encoding = case.reference.encode("Hello world, a [MASK] test!")
    assert out["input_ids"] == encoding.ids
    assert out["attention_mask"] == encoding.attention_mask
    if case.with_token_type_ids:
        assert out["token_type_ids"] == encoding.type_ids
    assert all(v.dtype == np.int64 and v.shape[0] == 1 for v in case.session.run(None, {"input": np.array(["x"], dtype=object)}))


def test_only_ops_oracle_accepts(case: Case) -> None:
    domains = {o.domain: o.version for o in case.model.opset_import}
    assert domains == {"": 17, "ai.onnx.ml": 2, "com.microsoft": 1}
    used = {(n.domain, n.op_type) for n in case.model.graph.node}
    assert {d for d, _ in used} <= {"", "ai.onnx.ml", "com.microsoft"}
    assert {op for d, op in used if d == "ai.onnx.ml"} == {"LabelEncoder"}
    assert {op for d, op in used if d == "com.microsoft"} == {"Tokenizer"}
    assert not {op for d, op in used if d == ""} & {"StringNormalizer", "Loop", "If", "Scan"}
    assert contract.EXTENSIONS_DOMAIN not in domains


def test_empty_and_whitespace(case: Case) -> None:
    texts = [
        "",
        " ",
        "   ",
        "\t\n\r",
        "\x00",
        "\x00\x00 \x00",
        "\ufffd",
        "\u200b",
        "\u200b \u200b",
        *WHITESPACE,
        "".join(WHITESPACE),
        " \u0301",
        "\u0301",
        "\u0345\u0301 ",
    ]
    assert_no_mismatch(case, texts)


def words_per_text(case: Case, tokens_per_word: int) -> int:
    """How many words of at most ``tokens_per_word`` tokens fit in one text without truncation."""
    return max(1, (case.max_length - 3) // tokens_per_word)


@pytest.mark.parametrize("name", [pytest.param("minilm", marks=pytest.mark.slow), *TINY])
def test_every_code_point_alone(request: pytest.FixtureRequest, name: str) -> None:
    """Each code point as the whole text (MiniLM: about two minutes on two cores)."""
    case = case_of(request, name)
    assert_no_mismatch(case, [chr(cp) for cp in sweep_code_points(case)])


@pytest.mark.parametrize("name", ["minilm", *TINY])
def test_every_code_point_upper_cased_alone(request: pytest.FixtureRequest, name: str) -> None:
    """``chr(cp).upper()`` as the whole text, for every code point whose upper case differs from
    it (the others are the sweep above): capitals in every script, and "ß" -> "SS"-like growth."""
    case = case_of(request, name)
    changed = [chr(cp).upper() for cp in sweep_code_points(case) if chr(cp).upper() != chr(cp)]
    assert len(changed) > (1000 if case.name == "all-MiniLM-L6-v2" else 500)
    assert_no_mismatch(case, changed)


@pytest.mark.parametrize("upper", [False, True], ids=["as-is", "upper-cased"])
@pytest.mark.parametrize("name", ["minilm", *TINY])
def test_every_code_point_inside_a_word(request: pytest.FixtureRequest, name: str, upper: bool) -> None:
    """Each code point between two vocabulary letters, "ab" + chr(cp) + "cd" (upper-cased:
    "AB" + chr(cp).upper() + "CD"): joined to its neighbours, split off as punctuation or
    whitespace, dropped, or making the whole word [UNK]. One word per code point, many words per text."""
    case = case_of(request, name)
    words = ["ab" + chr(cp) + "cd" for cp in sweep_code_points(case)]
    assert_words_match(case, [w.upper() for w in words] if upper else words, words_per_text(case, 8))


@pytest.mark.parametrize("upper", [False, True], ids=["as-is", "upper-cased"])
@pytest.mark.parametrize("name", ["minilm", *TINY])
def test_code_point_runs_as_words(request: pytest.FixtureRequest, name: str, upper: bool) -> None:
    """Words of 8 consecutive code points of the sweep (then upper-cased), so neighbours meet:
    combining marks next to each other (canonical reordering), a letter before its marks,
    CJK and punctuation runs, several unknown characters in one word."""
    case = case_of(request, name)
    cps = sweep_code_points(case)
    words = ["".join(map(chr, cps[i : i + 8])) for i in range(0, len(cps), 8)]
    assert_words_match(case, [w.upper() for w in words] if upper else words, words_per_text(case, 24))


def test_random_unicode_strings(case: Case) -> None:
    assert_no_mismatch(case, random_texts(case, 3000, seed=7))


def test_long_random_unicode_strings(minilm: Case) -> None:
    """10,000 seeded random strings over all of Unicode, 0 to 5,000 characters: 60% short (under
    40 items, most under 100 characters), 40% spread uniformly over the whole range (most of those
    reach truncation at 256 tokens)."""
    texts = random_texts(minilm, 10000, seed=17, long_share=0.4, longest=5000)
    lengths = [len(t) for t in texts]
    assert min(lengths) == 0 and 4900 < max(lengths) <= 5000 and sum(n > 1000 for n in lengths) > 3000
    assert_no_mismatch(minilm, texts)


def test_vocabulary_pieces_disturbed(case: Case) -> None:
    assert_no_mismatch(case, piece_texts(case, 3000, seed=11))


def test_real_text_lines(case: Case, corpus: list[str]) -> None:
    assert_no_mismatch(case, corpus)


def test_truncation_edges(case: Case) -> None:
    """Bodies of max_length - 3 .. max_length + 3 tokens around the cut: one-token words, a word cut
    into pieces across the edge, a special token at the edge, an unknown word at the edge."""
    counter = Tokenizer.from_str(case.reference.to_str())
    counter.no_truncation()
    words = [
        w for w in vocab_words(case) if w.isalpha() and w.isascii() and len(counter.encode(w, add_special_tokens=False).ids) == 1
    ]
    long_word = max((w for w in vocab_words(case) if w.isalpha() and w.isascii()), key=len) * 3
    special = added_contents(case)[-1]
    added = len(counter.encode("").ids)
    texts = []
    for body in range(case.max_length - added - 3, case.max_length - added + 4):
        one = " ".join(words[i % len(words)] for i in range(body))
        assert len(counter.encode(one, add_special_tokens=False).ids) == body
        texts += [
            one,
            one + " " + long_word,
            one[: len(one) // 2] + " " + long_word + " " + one[len(one) // 2 :],
            one + special,
            one + " " + special + " x",
            one + " \u2603\u2603",
        ]
    assert_no_mismatch(case, texts)


def test_long_inputs(case: Case, corpus: list[str]) -> None:
    rng = random.Random(3)
    document = " ".join(rng.choice(corpus) for _ in range(400))[:20000]
    word = "".join(rng.choice("abcdefghij") for _ in range(20000))
    texts = [
        document,
        word,
        "a" * 20000,
        " ".join(["x" * 150] * 130)[:20000],
        "\u00e9" * 20000,
        "\u4e2d" * 20000,
        " " * 20000,
        "[MASK]" * 3000,
    ]
    assert_no_mismatch(case, texts)
    for text in (document, word):
        start = time.perf_counter()
        case.run(text)
        assert time.perf_counter() - start < 2.0, f"{len(text)} characters took too long"


def test_opset_18(minilm: Case) -> None:
    model = build_exact_wordpiece_graph(
        minilm.tokenizer_json, minilm.max_length, with_token_type_ids=True, opset=18, op_profile=minilm.op_profile
    )
    assert {o.domain: o.version for o in model.opset_import}[""] == 18
    at18 = Case(minilm.name + "@18", minilm.folder, minilm.max_length, True, op_profile=minilm.op_profile)
    at18.__dict__["model"] = model
    assert_no_mismatch(at18, random_texts(minilm, 1000, seed=5) + piece_texts(minilm, 1000, seed=6))


# transformers 5 rebuilds a BertTokenizer from tokenizer_config.json (cleaning, "##", 100 characters,
# [CLS]/[SEP]), so for bert-odd's unusual tokenizer.json it is no longer the same tokenizer.
@pytest.mark.parametrize("name", ["minilm", *(name for name in TINY if name != "bert-odd")])
def test_agrees_with_autotokenizer(request: pytest.FixtureRequest, name: str) -> None:
    transformers = pytest.importorskip("transformers")
    case = case_of(request, name)
    auto = transformers.AutoTokenizer.from_pretrained(case.folder)

    def reference(texts: list[str]) -> list[list[int]]:
        return [auto(t, truncation=True, max_length=case.max_length)["input_ids"] for t in texts]

    assert_no_mismatch(case, random_texts(case, 500, seed=1) + piece_texts(case, 500, seed=2), reference=reference)


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
    case = Case(f"{name}+{tokens}", folder, base.max_length, base.with_token_type_ids)
    contents = [entry["content"] for entry in entries] + added_contents(base)
    texts = typed_tokens(contents, 3000, seed=31) + random_texts(case, 1000, seed=32) + piece_texts(case, 1000, seed=33)
    assert_no_mismatch(case, texts)


@pytest.mark.parametrize(("name", "lower"), [("minilm", False), ("bert-cased", True)])
def test_do_lower_case_override(request: pytest.FixtureRequest, name: str, lower: bool) -> None:
    transformers = pytest.importorskip("transformers")
    base = case_of(request, name)
    case = Case(f"{base.name} do_lower_case={lower}", base.folder, base.max_length, True, do_lower_case=lower)
    auto = transformers.AutoTokenizer.from_pretrained(case.folder, do_lower_case=lower)

    def reference(texts: list[str]) -> list[list[int]]:
        return [auto(t, truncation=True, max_length=case.max_length)["input_ids"] for t in texts]

    texts = random_texts(case, 800, seed=21) + piece_texts(case, 800, seed=22) + ["Héllo WORLD İ ÖSTERREICH Ǆ ß"]
    assert_no_mismatch(case, texts, reference=reference)
    assert_no_mismatch(case, texts)


UNSUPPORTED = {
    "bpe model": lambda c: c["model"].update(type="BPE"),
    "unigram model": lambda c: c.__setitem__("model", {"type": "Unigram", "vocab": [["a", 0.0]], "unk_id": 0}),
    "nfkc normalizer": lambda c: c.__setitem__("normalizer", {"type": "NFKC"}),
    "sequence normalizer": lambda c: c.__setitem__("normalizer", {"type": "Sequence", "normalizers": [{"type": "NFD"}]}),
    "whitespace pre-tokenizer": lambda c: c.__setitem__("pre_tokenizer", {"type": "Whitespace"}),
    "no pre-tokenizer": lambda c: c.__setitem__("pre_tokenizer", None),
    "single_word token": lambda c: c["added_tokens"].append(added_token("[X]", 9999, single_word=True)),
    "normalized token normalizing to nothing": lambda c: c["added_tokens"].append(added_token("\x01", 9999, normalized=True)),
    "normalized token of marks": lambda c: c["added_tokens"].append(added_token("x\U0001d165", 9999, normalized=True)),
    "lstrip beside a normalized token ending in whitespace": lambda c: c["added_tokens"].extend(
        [added_token("<l>", 9998, lstrip=True), added_token("y\u3000", 9999, normalized=True)]
    ),
    "overlapping tokens": lambda c: c["added_tokens"].extend([added_token("<ab", 9998), added_token("b>", 9999)]),
    "rstrip beside a leading-space token": lambda c: c["added_tokens"].extend(
        [added_token("<r>", 9998, rstrip=True), added_token(" x", 9999)]
    ),
    "template without sequence A": lambda c: c["post_processor"].update(single=[{"SpecialToken": {"id": "[CLS]", "type_id": 0}}]),
}
# BERT-family tokenizers the exact graph cannot prove exact but the BertTokenizer op builds: their
# refusal names the op back-end. The others are outside the family, which the op refuses too.
BERT_OP_WAY_OUT = {
    "single_word token",
    "normalized token normalizing to nothing",
    "normalized token of marks",
    "lstrip beside a normalized token ending in whitespace",
    "overlapping tokens",
    "rstrip beside a leading-space token",
    "template without sequence A",
}


def assert_names_bert_op(error: UnsupportedModelError) -> None:
    """One line, "reason; fix", whose fix names the op back-end, both ways to choose it, and where
    its measured mismatch rates are."""
    assert str(error) == f"{error.problem}; {error.fix}" and "\n" not in str(error)
    for text in ('tokenizer="bert-op"', "--tokenizer bert-op", "mismatch rate", "docs/tokenizers.md"):
        assert text in error.fix, f"{text!r} missing from {str(error)!r}"


@pytest.mark.parametrize("what", sorted(UNSUPPORTED))
def test_unsupported_tokenizers_are_refused(request: pytest.FixtureRequest, tmp_path, what: str) -> None:
    """The reason and the way out in one line; the way out is checked to work (or, for a model
    outside the family, the op is checked to refuse it too, so it is not offered)."""
    case = case_of(request, "bert-uncased")
    path = edited_tokenizer_json(case.tokenizer_json, tmp_path, UNSUPPORTED[what])
    with pytest.raises(UnsupportedModelError) as error:
        build_exact_wordpiece_graph(path, 64, with_token_type_ids=True)
    assert "\n" not in str(error.value) and error.value.problem and error.value.fix
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


def test_max_length_must_hold_the_special_tokens(minilm: Case) -> None:
    with pytest.raises(ConfigError):
        build_exact_wordpiece_graph(minilm.tokenizer_json, 1, with_token_type_ids=True)
    two = build_exact_wordpiece_graph(minilm.tokenizer_json, 2, with_token_type_ids=True, op_profile=minilm.op_profile)
    case = Case("max_length=2", minilm.folder, 2, True)
    case.__dict__["model"] = two
    assert_no_mismatch(case, ["", "hello world", "[MASK]"])
