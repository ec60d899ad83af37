"""The BertTokenizer-op tokenizer stage: its ids must equal the model's Hugging Face tokenizer's."""

from __future__ import annotations

import shutil

import numpy as np
import onnx
import pytest
from embedpipe import contract
from embedpipe.errors import ConfigError, UnsupportedModelError
from embedpipe.runtime import open_session, run_one
from embedpipe.tokenparity import compare_token_ids
from embedpipe_tokenizers.ops.bert_op import LIMITATIONS, build_bert_op_graph
from transformers import AutoTokenizer

from tests.fixtures_tokenizers import (
    MINILM_MAX_LENGTH,
    TINY_FAMILIES,
    ascii_lines,
    minilm_folder,
    train_bpe_tokenizer,
    train_tiny_tokenizer,
)


@pytest.fixture(scope="module")
def minilm_graph() -> onnx.ModelProto:
    return build_bert_op_graph(minilm_folder(), MINILM_MAX_LENGTH, with_token_type_ids=True)


@pytest.fixture(scope="module")
def minilm_session(minilm_graph):
    return open_session(minilm_graph)


@pytest.fixture(scope="module")
def minilm_hf():
    return AutoTokenizer.from_pretrained(str(minilm_folder()))


@pytest.fixture(scope="module")
def tiny_folders(tmp_path_factory) -> dict:
    root = tmp_path_factory.mktemp("tiny_tokenizers")
    return {name: train_tiny_tokenizer(root / name, name) for name in TINY_FAMILIES}


def assert_same_as_hf(session, hf, text: str, max_length: int) -> dict:
    """Every output the graph and Hugging Face both produce must be equal; returns HF's encoding."""
    expected = hf(text, truncation=True, max_length=max_length)
    got = run_one(session, text)
    shared = [name for name in contract.TOKENIZER_OUTPUTS if name in expected]
    assert sorted(got) == sorted(shared)
    for name in shared:
        assert got[name].dtype == np.int64 and got[name].shape == (1, len(expected[name]))
        assert got[name][0].tolist() == list(expected[name]), (name, text[:80])
    return expected


def test_graph_interface(minilm_graph):
    graph = minilm_graph.graph
    assert minilm_graph.ir_version == 8
    assert {(o.domain, o.version) for o in minilm_graph.opset_import} == {("", 17), ("ai.onnx.contrib", 1)}
    assert [(i.name, i.type.tensor_type.elem_type) for i in graph.input] == [("input", onnx.TensorProto.STRING)]
    assert [d.dim_value for d in graph.input[0].type.tensor_type.shape.dim] == [1]
    assert [o.name for o in graph.output] == ["input_ids", "attention_mask", "token_type_ids"]
    assert all(o.type.tensor_type.elem_type == onnx.TensorProto.INT64 for o in graph.output)
    custom = [n.op_type for n in graph.node if n.domain == contract.EXTENSIONS_DOMAIN]
    assert custom == ["BertTokenizer"]


def test_without_token_type_ids_has_two_outputs():
    model = build_bert_op_graph(minilm_folder(), 16, with_token_type_ids=False)
    assert [o.name for o in model.graph.output] == ["input_ids", "attention_mask"]


@pytest.mark.parametrize(
    "text",
    [
        "The quick brown fox jumps over the lazy dog.",
        "Hello, World! It's 3:45pm -- let's go (again).",
        "北京欢迎你，东京和上海。 東京タワー",
        "",
        "   \t ",
        "naïve café",
        "Crème brûlée, São Paulo, Zürich, Ærøskøbing",
    ],
)
def test_minilm_matches_hf(minilm_session, minilm_hf, text):
    assert_same_as_hf(minilm_session, minilm_hf, text, MINILM_MAX_LENGTH)


def test_accents_are_stripped_as_hf_strips_them(minilm_session, minilm_hf):
    expected = assert_same_as_hf(minilm_session, minilm_hf, "naïve café", MINILM_MAX_LENGTH)
    assert minilm_hf.convert_ids_to_tokens(expected["input_ids"]) == ["[CLS]", "naive", "cafe", "[SEP]"]


def test_long_document_is_truncated_like_hf(minilm_session, minilm_hf):
    document = " ".join(ascii_lines())[:20_000]
    assert len(document) == 20_000
    expected = assert_same_as_hf(minilm_session, minilm_hf, document, MINILM_MAX_LENGTH)
    ids = expected["input_ids"]
    assert len(ids) == MINILM_MAX_LENGTH
    assert ids[0] == minilm_hf.cls_token_id and ids[-1] == minilm_hf.sep_token_id


@pytest.mark.parametrize("family", sorted(TINY_FAMILIES))
@pytest.mark.parametrize("max_length", [2, 3, 9, 32])
def test_tiny_tokenizers_match_hf_on_ascii_and_truncation_edges(tiny_folders, family, max_length):
    folder = tiny_folders[family]
    graph = build_bert_op_graph(folder, max_length, with_token_type_ids=TINY_FAMILIES[family].token_type_ids)
    report = compare_token_ids(graph, folder, ascii_lines()[:600], max_length)
    assert report.classes["all"].texts == 600
    assert report.mismatches == []
    assert report.classes["long"].texts > 0  # the truncation path was exercised


def test_mpnet_uses_its_own_special_tokens(tiny_folders):
    folder = tiny_folders["mpnet"]
    hf = AutoTokenizer.from_pretrained(str(folder))
    session = open_session(build_bert_op_graph(folder, 32, with_token_type_ids=False))
    ids = assert_same_as_hf(session, hf, "the quick brown fox", 32)["input_ids"]
    assert hf.convert_ids_to_tokens([ids[0], ids[-1]]) == ["<s>", "</s>"]


def test_do_lower_case_override(tiny_folders):
    folder = tiny_folders["bert-cased"]
    hf = AutoTokenizer.from_pretrained(str(folder), do_lower_case=True)
    session = open_session(build_bert_op_graph(folder, 64, with_token_type_ids=True, do_lower_case=True))
    for text in ascii_lines()[:200]:
        assert_same_as_hf(session, hf, text, 64)


def test_vocab_txt_without_tokenizer_json(tmp_path, minilm_hf):
    for name in ("vocab.txt", "tokenizer_config.json"):
        shutil.copy(minilm_folder() / name, tmp_path / name)
    session = open_session(build_bert_op_graph(tmp_path, MINILM_MAX_LENGTH, with_token_type_ids=True))
    hf = AutoTokenizer.from_pretrained(str(tmp_path))
    for text in ["naïve café", "Hello, World!", "北京", " ".join(ascii_lines())[:5000]]:
        assert_same_as_hf(session, hf, text, MINILM_MAX_LENGTH)


def test_refuses_a_tokenizer_that_is_not_wordpiece(tmp_path):
    with pytest.raises(UnsupportedModelError, match="BPE") as caught:
        build_bert_op_graph(train_bpe_tokenizer(tmp_path / "bpe"), 64, with_token_type_ids=False)
    assert caught.value.fix and "\n" not in str(caught.value)
    (tmp_path / "empty").mkdir()
    with pytest.raises(UnsupportedModelError):
        build_bert_op_graph(tmp_path / "empty", 64, with_token_type_ids=False)


def test_refuses_max_length_shorter_than_the_special_tokens():
    with pytest.raises(ConfigError):
        build_bert_op_graph(minilm_folder(), 1, with_token_type_ids=True)


# One text per declared limitation, each known to differ from Hugging Face on all-MiniLM-L6-v2
# with at least one supported extensions version.
HARD_CASES = {
    "non-ascii-capitals": "İstanbul",
    "accents-outside-latin1": "Łódź and Kraków are in Polska, ā ō",
    "combining-marks": "नमस्ते दुनिया",
    "invisible-characters": "a\x00b",
    "unicode-separators": "line\u2028break",
    "multiplication-sign": "3 × 4",
    "special-token-text": "fill the [MASK] here",
    "partial-unknown-words": "seeɗto",
}


def test_every_limitation_has_a_measured_rate_and_a_matching_example():
    assert sorted(limitation.name for limitation in LIMITATIONS) == sorted(HARD_CASES)
    for limitation in LIMITATIONS:
        assert "%" in limitation.measured_rate and limitation.description
        assert limitation.matches(HARD_CASES[limitation.name]), limitation.name
        assert not limitation.matches("The quick brown fox jumps over the lazy dog."), limitation.name


def test_hard_cases_that_differ_are_covered_by_a_limitation(minilm_graph, minilm_hf):
    texts = [*HARD_CASES.values(), "Январь", "ÖSTERREICH", "résumé", "x\ty\nz", "ﬁ Ⅻ ß", "😀👍🏽"]
    report = compare_token_ids(minilm_graph, minilm_hf, texts, MINILM_MAX_LENGTH)
    assert report.mismatches, "the op is known to differ on some of these"
    for mismatch in report.mismatches:
        assert any(limitation.matches(mismatch.text) for limitation in LIMITATIONS), mismatch

