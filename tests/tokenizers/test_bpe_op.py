"""The byte-level BPE op stages (gpt2-op, roberta-op): the tokenizer sub-graph's ids against the
model's Hugging Face tokenizer, on tiny GPT2 and RoBERTa models with locally trained tokenizers."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
from embedpipe.errors import UnsupportedModelError
from embedpipe.runtime import open_session, run_one
from embedpipe_tokenizers.ops.bpe_op import build_bpe_op_graph
from embedpipe_tokenizers.ops.op_limits import BYTE_LEVEL_BPE
from tokenizers import Tokenizer

from tests.conftest import random_unicode

MAX_LENGTH = 64
OPS = {"roberta": "RobertaTokenizer", "gpt2": "GPT2Tokenizer"}


@pytest.fixture(scope="module", params=sorted(OPS))
def family(request, tiny_model):  # type: ignore[no-untyped-def]
    folder = tiny_model(request.param)
    graph = build_bpe_op_graph(folder / "tokenizer.json", MAX_LENGTH, op=OPS[request.param], with_token_type_ids=False)
    return request.param, folder, graph


def test_real_text_ids_equal_hugging_face(family, real_text, op_parity):
    name, folder, graph = family
    report, _ = op_parity(graph, folder, real_text, MAX_LENGTH, BYTE_LEVEL_BPE, f"{name}: real text")
    assert report.classes["all"].texts == len(real_text)
    assert report.mismatches == [], report.mismatches[:3]


def test_real_text_ids_equal_the_tokenizers_library(family, real_text):
    _name, folder, graph = family
    reference = Tokenizer.from_file(str(folder / "tokenizer.json"))
    reference.enable_truncation(MAX_LENGTH)
    session = open_session(graph)
    differ = [t for t in real_text if run_one(session, t)["input_ids"][0].tolist() != reference.encode(t).ids]
    assert differ == []


def test_hard_texts_differ_only_in_declared_classes(family, hard_texts, op_parity):
    name, folder, graph = family
    report, undeclared = op_parity(graph, folder, list(hard_texts), MAX_LENGTH, BYTE_LEVEL_BPE, f"{name}: hard texts")
    assert undeclared == []
    assert {m.text for m in report.mismatches} <= {"a\x00b", "<mask> x </s> y <s>", "<|endoftext|> end"}


def test_random_unicode_differs_only_in_declared_classes(family, op_parity):
    name, folder, graph = family
    texts = random_unicode(3000, seed=5)
    report, undeclared = op_parity(graph, folder, texts, MAX_LENGTH, BYTE_LEVEL_BPE, f"{name}: random Unicode")
    with_nul, empty = sum("\x00" in t for t in texts), texts.count("")
    print(f"{len(report.mismatches)} of {len(texts)} differ; {with_nul} hold a NUL, {empty} are empty")
    assert undeclared == []
    # Every difference is a NUL (GPT2's "" gives one masked pad, which is no token).
    assert all("\x00" in m.text for m in report.mismatches)


def test_truncation_keeps_the_special_tokens_as_hugging_face_does(family, op_parity):
    name, folder, graph = family
    edges = [" ".join(["word"] * n) for n in range(MAX_LENGTH - 5, MAX_LENGTH + 5)]
    edges += ["ab" * n for n in range(MAX_LENGTH - 3, MAX_LENGTH * 2 + 3, 7)]
    report, _ = op_parity(graph, folder, edges, MAX_LENGTH, BYTE_LEVEL_BPE, f"{name}: truncation edges")
    assert report.mismatches == []
    assert report.classes["long"].texts > 0


def test_empty_text_of_a_model_without_specials_is_one_masked_pad(tiny_model):
    """GPT2 gives no token for "": the stage gives one pad with mask 0, as Hugging Face pads it in a batch."""
    folder = tiny_model("gpt2")
    outputs = run_one(open_session(build_bpe_op_graph(folder / "tokenizer.json", 16, op="GPT2Tokenizer",
                                                      with_token_type_ids=True, pad_token="<|endoftext|>")), "")
    from transformers import AutoTokenizer

    padded = AutoTokenizer.from_pretrained(str(folder))(["", "a"], padding=True)
    assert outputs["input_ids"].tolist() == [padded["input_ids"][0]]
    assert outputs["attention_mask"].tolist() == [padded["attention_mask"][0]] == [[0]]
    assert outputs["token_type_ids"].tolist() == [[0]]


def _edited(tmp_path, tiny_model, family: str, edit) -> str:  # type: ignore[no-untyped-def]
    folder = tmp_path / family
    shutil.copytree(tiny_model(family), folder)
    data = json.loads((folder / "tokenizer.json").read_text(encoding="utf-8"))
    edit(data)
    (folder / "tokenizer.json").write_text(json.dumps(data), encoding="utf-8")
    return folder / "tokenizer.json"


def test_refuses_add_prefix_space(tmp_path, tiny_model):
    path = _edited(tmp_path, tiny_model, "roberta", lambda d: d["pre_tokenizer"].update(add_prefix_space=True))
    with pytest.raises(UnsupportedModelError, match="add_prefix_space"):
        build_bpe_op_graph(path, MAX_LENGTH, op="RobertaTokenizer", with_token_type_ids=False)


def test_refuses_an_op_whose_special_tokens_the_vocabulary_lacks(tiny_model):
    with pytest.raises(UnsupportedModelError, match="roberta-op"):
        build_bpe_op_graph(tiny_model("roberta") / "tokenizer.json", MAX_LENGTH, op="GPT2Tokenizer", with_token_type_ids=False)


def test_an_eos_appending_post_processor_is_honoured(tmp_path, tiny_model, op_parity):
    """The GPT2 op adds no eos; a post-processor that appends one gets it from the standard ops."""

    def append_eos(data: dict) -> None:
        data["post_processor"] = {
            "type": "TemplateProcessing",
            "single": [{"Sequence": {"id": "A", "type_id": 0}}, {"SpecialToken": {"id": "<|endoftext|>", "type_id": 0}}],
            "pair": [{"Sequence": {"id": "A", "type_id": 0}}, {"Sequence": {"id": "B", "type_id": 1}}],
            "special_tokens": {"<|endoftext|>": {"id": "<|endoftext|>", "ids": [0], "tokens": ["<|endoftext|>"]}},
        }

    path = _edited(tmp_path, tiny_model, "gpt2", append_eos)
    graph = build_bpe_op_graph(path, MAX_LENGTH, op="GPT2Tokenizer", with_token_type_ids=False)
    texts = ["", "hello world", "word " * 200]
    report, _ = op_parity(graph, path.parent, texts, MAX_LENGTH, BYTE_LEVEL_BPE, "gpt2 with eos")
    assert report.mismatches == []
    assert all(run_one(open_session(graph), t)["input_ids"][0][-1] == 0 for t in texts)


def test_every_limitation_has_a_measured_rate():
    assert all(lim.measured_rate and lim.description for lim in BYTE_LEVEL_BPE)
    assert np.all([lim.matches(example) for lim, example in zip(BYTE_LEVEL_BPE, ("a\x00b", "x </s>", ""))])
