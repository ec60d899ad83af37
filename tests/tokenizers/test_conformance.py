"""Every exact tokenizer stage, whatever its family, gives Hugging Face's ids on every input.

One suite for the three families (WordPiece, byte-level BPE, SentencePiece Unigram), parametrized
over the real all-MiniLM-L6-v2 tokenizer and tiny tokenizers of every family trained here
(conftest.py). Each family makes the texts that stress it (its ``*_cases.py``); what only one
family has (typed added-token flags, grapheme rules, upper-casing) is in its ``test_exact_*.py``.
References are always Hugging Face's, never the graph's own output.
"""

from __future__ import annotations

import pathlib
from collections.abc import Sequence

import bpe_cases
import numpy as np
import pytest
import unigram_cases
import wordpiece_cases
from embedpipe import contract
from embedpipe.errors import ConfigError, UnsupportedModelError
from embedpipe.oprule import assert_op_rule
from stage_cases import (
    CASES,
    StageCase,
    assert_each_alone,
    assert_no_mismatch,
    assert_words_match,
    code_point_sample,
    stage_case,
)
from stage_checks import assert_old_runtimes_give_reference_ids, edited_tokenizer_json

ALL = [pytest.param(family, name, id=f"{family}-{name}") for family, names in CASES.items() for name in names]
# One case per family where a check needs a new graph: its most complete tokenizer.
ONE_PER_FAMILY = {contract.WORDPIECE: "minilm", contract.BPE: "roberta-prefix", contract.UNIGRAM: "xlmr-hub"}
# The tokenizer each family's refusals edit.
REFUSED_FROM = {contract.WORDPIECE: "bert-uncased", contract.BPE: "roberta", contract.UNIGRAM: "xlmr-hub"}
UNSUPPORTED = {
    contract.WORDPIECE: wordpiece_cases.UNSUPPORTED,
    contract.BPE: bpe_cases.UNSUPPORTED,
    contract.UNIGRAM: unigram_cases.UNSUPPORTED,
}
# transformers 5 rebuilds a BertTokenizer and an XLM-R tokenizer from their class and config, so
# for these edited tokenizer.json files it is no longer the same tokenizer.
NOT_AUTOTOKENIZER = {"bert-odd", "xlmr-hub"}
TEXT_WITH_EVERY_SPECIAL = "Hello world, a [MASK] <mask> test's </s> <s> <|endoftext|>!"


@pytest.fixture(params=[pytest.param(p.values, id=p.id) for p in ALL])
def case(request: pytest.FixtureRequest) -> StageCase:
    return stage_case(request, *request.param)


@pytest.fixture(params=[pytest.param(item, id=item[0]) for item in ONE_PER_FAMILY.items()])
def family_case(request: pytest.FixtureRequest) -> StageCase:
    return stage_case(request, *request.param)


def all_nodes(graph: object) -> list:
    """The nodes of ``graph`` and of every subgraph (Loop bodies), at any depth."""
    nodes = []
    for node in graph.node:  # type: ignore[attr-defined]
        nodes.append(node)
        for attribute in node.attribute:
            if attribute.g.node:
                nodes += all_nodes(attribute.g)
    return nodes


def test_inputs_outputs_and_types(case: StageCase) -> None:
    assert [i.name for i in case.model.graph.input] == [contract.TEXT]
    want = [contract.INPUT_IDS, contract.ATTENTION_MASK] + ([contract.TOKEN_TYPE_IDS] if case.with_token_type_ids else [])
    assert [o.name for o in case.model.graph.output] == want
    assert case.model.ir_version == contract.DEFAULT_IR_VERSION
    out, encoding = case.run(TEXT_WITH_EVERY_SPECIAL), case.reference.encode(TEXT_WITH_EVERY_SPECIAL)
    assert out[contract.INPUT_IDS] == encoding.ids
    assert out[contract.ATTENTION_MASK] == encoding.attention_mask
    if case.with_token_type_ids:
        assert out[contract.TOKEN_TYPE_IDS] == encoding.type_ids
    values = case.session.run(None, {contract.TEXT: np.array(["x"], dtype=object)})
    assert all(v.dtype == np.int64 and v.shape[0] == 1 for v in values)


def test_only_ops_of_its_profile(case: StageCase) -> None:
    """The portable profile's ops, at every depth: LabelEncoder tables, com.microsoft's Tokenizer
    for the split, and no op that some ONNX Runtime builds leave out."""
    assert_op_rule(case.model, op_profile=case.op_profile)
    assert {o.domain: o.version for o in case.model.opset_import} == {"": 17, "ai.onnx.ml": 2, "com.microsoft": 1}
    used = {(n.domain, n.op_type) for n in all_nodes(case.model.graph)}
    assert {op for d, op in used if d == "ai.onnx.ml"} == {"LabelEncoder"}
    assert {op for d, op in used if d == "com.microsoft"} == {"Tokenizer"}
    assert not {op for d, op in used if d == ""} & {"StringNormalizer", "If", "Scan"}


def test_empty_and_whitespace(case: StageCase) -> None:
    spaces = [" ", "\t", "\n", "\r", "\r\n", "\u00a0", "\u2009", "\u3000", "\u200b", "\u2028", "\x0b", "\x0c", "\u0085"]
    spaces += ["\u1680", "\u202f", "\u205f", "\ufeff"]
    texts = ["", " ", "  ", "   ", "\t\n\r", "\n\n", " \n", "\n ", " \t\n ", "\x00", "\x00\x00 \x00", "\x01\x02", "\ufffd"]
    texts += [*spaces, "".join(spaces), "\u200b \u200b", " \u0301", "\u0301", "\u0345\u0301 ", "a ", " a", "a  ", "  a  b  "]
    texts += [a + b + c for a in spaces[:6] for b in spaces[:6] for c in ["", "x", " x", "'s"]]
    assert_no_mismatch(case, texts)


def test_random_unicode_strings(case: StageCase) -> None:
    assert_no_mismatch(case, case.random_texts(3000, seed=7))


def test_vocabulary_pieces_disturbed(case: StageCase) -> None:
    assert_no_mismatch(case, case.piece_texts(3000, seed=11))


def test_real_text_lines(case: StageCase, corpus: list[str]) -> None:
    assert_no_mismatch(case, corpus)


def test_truncation_edges(case: StageCase) -> None:
    assert_no_mismatch(case, case.truncation_texts())


def test_long_inputs(case: StageCase, corpus: list[str]) -> None:
    """Documents of 20,000 to 50,000 characters, long single words and runs of one character or
    of a special token (their speed is measured by bench/bench_scale.py, not asserted here)."""
    assert_no_mismatch(case, [*case.long_texts(corpus), case.separator * 3000])


def test_every_code_point_alone(case: StageCase) -> None:
    """Every code point swept (all 1,112,064 for the cases marked ``full_sweeps``), each between two
    special tokens, where Hugging Face tokenizes it as it would alone; and a sample of 23,700,
    each as the whole text."""
    assert_each_alone(case.untruncated(), [chr(cp) for cp in case.swept_code_points()])
    assert_no_mismatch(case, [chr(cp) for cp in code_point_sample(list(case.reference.get_vocab()))])


def test_every_code_point_inside_a_word(case: StageCase) -> None:
    """Every code point swept between letters, "ab" + c + "cd": joined to the word, split off as
    punctuation or whitespace, dropped, or making the word unknown."""
    assert_words_match(case.untruncated(), ["ab" + chr(cp) + "cd" for cp in case.swept_code_points()], 2000)


@pytest.mark.parametrize(("family", "name"), [item for item in ALL if item.values[1] not in NOT_AUTOTOKENIZER])
def test_agrees_with_autotokenizer(request: pytest.FixtureRequest, family: str, name: str, corpus: list[str]) -> None:
    """The tokenizer.json files are what transformers makes of the folders, and the graph agrees."""
    transformers = pytest.importorskip("transformers")
    case = stage_case(request, family, name)
    auto = transformers.AutoTokenizer.from_pretrained(case.folder)

    def reference(texts: Sequence[str]) -> list[list[int]]:
        return [auto(t, truncation=True, max_length=case.max_length)["input_ids"] for t in texts]

    assert_no_mismatch(case, case.random_texts(500, seed=1) + case.piece_texts(500, seed=2) + corpus[::10], reference)


def test_opset_18(family_case: StageCase) -> None:
    at18 = family_case.variant("@18", options={"opset": 18})
    assert {o.domain: o.version for o in at18.model.opset_import}[""] == 18
    assert_no_mismatch(at18, family_case.random_texts(500, seed=5) + family_case.piece_texts(500, seed=6))


@pytest.mark.parametrize("prefix", ["query: ", "<mask> x", "'s", "[SEP]x"])
def test_prefix_is_tokenized_with_the_input(family_case: StageCase, prefix: str) -> None:
    """A prompt baked into the graph: the ids of prefix + input as one text."""
    case = family_case.variant(f"prefix {prefix!r}", options={"prefix": prefix})
    texts = family_case.random_texts(300, seed=12) + ["", " ", "s", "hello", family_case.separator]
    assert_no_mismatch(case, texts, reference=lambda texts: family_case.reference_ids([prefix + t for t in texts]))


def test_max_length_must_hold_the_special_tokens(family_case: StageCase) -> None:
    added = len(family_case.reference.encode("").ids)
    with pytest.raises(ConfigError, match="special tokens"):
        family_case.variant("max_length too short", max_length=added - 1).build()
    for max_length in (added, added + 1):
        short = family_case.variant(f"max_length={max_length}", max_length=max_length)
        assert_no_mismatch(short, ["", "hello world", family_case.separator, f" {family_case.separator} x", "<mask>"])


@pytest.mark.parametrize(
    ("family", "what"), [pytest.param(family, what, id=f"{family}-{what}") for family, edits in UNSUPPORTED.items() for what in edits]
)
def test_unsupported_tokenizers_are_refused(request: pytest.FixtureRequest, tmp_path: pathlib.Path, family: str, what: str) -> None:
    """What a stage cannot prove exact is refused in one line, with the reason and the way out."""
    base = stage_case(request, family, REFUSED_FROM[family])
    edited_tokenizer_json(base.tokenizer_json, tmp_path, UNSUPPORTED[family][what])
    with pytest.raises(UnsupportedModelError) as error:
        base.variant(what, folder=tmp_path, max_length=64).build()
    assert "\n" not in str(error.value) and error.value.problem and error.value.fix


@pytest.mark.compat
def test_old_runtimes_give_the_same_ids(family_case: StageCase, corpus: list[str], tmp_path: pathlib.Path) -> None:
    """ONNX Runtime 1.15.1 and 1.20.1 (Oracle 23ai and 26ai) load the stage and give Hugging Face's ids;
    texts repeat, since 1.15.1 once went wrong from a session's second run on."""
    case, separator = family_case, family_case.separator
    texts = [TEXT_WITH_EVERY_SPECIAL, "", "a\x00b", "  x\n\ny ", "\u4e2d\u6587 \U0001f600", "long " * 400, separator * 300]
    texts += ["a" + separator, "a" + separator, f"x {separator} y", f"x {separator} y", "isppp"]
    texts += case.random_texts(60, seed=9) + case.piece_texts(40, seed=10) + corpus[::40]
    assert_old_runtimes_give_reference_ids(case.model, case.max_length, texts, case.reference_ids, tmp_path)
