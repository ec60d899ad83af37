"""Per-class token-id parity: the classifier, the report, and the BertTokenizer op's declared limitations."""

from __future__ import annotations

import pytest
from embedpipe.textclasses import CLASSES, classify
from embedpipe.tokenparity import compare_token_ids
from embedpipe_tokenizers.ops.bert_op import LIMITATIONS, build_bert_op_graph
from transformers import AutoTokenizer

from tests.fixtures_tokenizers import MINILM_MAX_LENGTH, corpus_lines, minilm_folder


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Hello, world!", ("ascii",)),
        ("", ("empty-blank",)),
        ("  ", ("empty-blank",)),
        ("\t\n", ("control-whitespace", "empty-blank")),
        ("naïve café", ("latin-accents",)),
        ("Łódź", ("latin-accents",)),
        ("Январь", ("cyrillic",)),
        ("Ωmega", ("greek",)),
        ("Հայաստան", ("armenian",)),
        ("საქართველო", ("georgian",)),
        ("北京 東京 ソウル 서울", ("cjk",)),
        ("ＡＢＣ。", ("cjk",)),
        ("مرحبا שלום", ("arabic-hebrew",)),
        ("नमस्ते বাংলা தமிழ்", ("indic",)),
        ("สวัสดี", ("thai",)),
        ("ሰላም ᏣᎳᎩ", ("other-script",)),
        ("ok 😀 👍🏽 🇫🇷 ☀", ("emoji",)),
        ("price: 5 € ± 1 — «fine»", ("symbols",)),
        ("a\x00b", ("ascii", "control-whitespace")),
        ("x\u00a0y", ("control-whitespace",)),
        ("zero\u200bwidth", ("control-whitespace",)),
        ("café Москва 北京 😀", ("latin-accents", "cyrillic", "cjk", "emoji")),
    ],
)
def test_classify(text, expected):
    assert classify(text) == expected


def test_classify_long_only_when_told():
    assert "long" not in classify("word " * 10_000)
    assert classify("word", over_max_tokens=True) == ("ascii", "long")
    assert set(classify("Москва 😀 \t", over_max_tokens=True)) <= set(CLASSES)


@pytest.fixture(scope="module")
def minilm_hf():
    return AutoTokenizer.from_pretrained(str(minilm_folder()))


def test_report_counts_every_class_a_text_belongs_to(minilm_hf):
    # A graph that does not lower-case, against Hugging Face, which does: capitals must differ.
    graph = build_bert_op_graph(minilm_folder(), 16, with_token_type_ids=True, do_lower_case=False)
    texts = ["hello world", "Hello world", "Привет мир", "привет", "", "word " * 40]
    report = compare_token_ids(graph, minilm_hf, texts, 16, examples_per_class=1)
    rows = {name: (count, bad) for name, count, bad, _ in report.rows()}
    assert rows["all"] == (6, 2)
    assert rows["ascii"] == (3, 1)
    assert rows["cyrillic"] == (2, 1)
    assert rows["empty-blank"] == (1, 0)
    assert rows["long"] == (1, 0)
    assert [m.text for m in report.mismatches] == ["Hello world", "Привет мир"]
    example = report.classes["ascii"].examples[0]
    assert example.reference_ids == minilm_hf("Hello world")["input_ids"]
    assert example.graph_ids != example.reference_ids
    data = report.to_dict()
    assert data["classes"]["cyrillic"]["examples"][0]["text"] == "Привет мир"
    assert "cyrillic" in report.render() and report.rich_table().row_count == len(report.rows())


def test_real_text_mismatches_are_all_declared_limitations(minilm_hf):
    """The BertTokenizer op on tests/data/real_text.txt: every differing line falls in a declared class."""
    graph = build_bert_op_graph(minilm_folder(), MINILM_MAX_LENGTH, with_token_type_ids=True)
    texts = corpus_lines()
    report = compare_token_ids(graph, minilm_hf, texts, MINILM_MAX_LENGTH)
    print("\n" + report.render())
    assert report.classes["all"].texts == len(texts) > 3000
    assert report.classes["long"].texts > 0
    assert report.classes["ascii"].mismatches == 0
    undeclared = [m.text for m in report.mismatches if not any(lim.matches(m.text) for lim in LIMITATIONS)]
    assert undeclared == []
