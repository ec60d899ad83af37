"""The SentencePiece op stage (sentencepiece-op): the tokenizer sub-graph's ids against the model's
Hugging Face tokenizer, on tiny XLM-R and T5 models whose Unigram models were trained locally with
sentencepiece and saved by their transformers tokenizer classes."""

from __future__ import annotations

import json
import random
import shutil
import unicodedata

import numpy as np
import pytest
from embedpipe.errors import UnsupportedModelError
from embedpipe.runtime import open_session, run_one
from embedpipe_tokenizers.ops.op_limits import UNIGRAM
from embedpipe_tokenizers.ops.sentencepiece_op import build_sentencepiece_op_graph
from tokenizers import Tokenizer

from tests.conftest import random_unicode

MAX_LENGTH = 64
SWEEP_GROUP = 500  # words per run in the every-code-point sweep
SWEEP_LENGTH = 8192  # no group of SWEEP_GROUP words comes near it
DECLARED = {lim.name: lim for lim in UNIGRAM}


@pytest.fixture(scope="module", params=["xlmr", "t5"])
def family(request, tiny_model):  # type: ignore[no-untyped-def]
    folder = tiny_model(request.param)
    return request.param, folder, build_sentencepiece_op_graph(folder / "tokenizer.json", MAX_LENGTH, with_token_type_ids=False)


def test_outputs_are_int64_rows_with_the_family_specials(family):
    name, folder, graph = family
    outputs = run_one(open_session(graph), "hello world")
    ids, mask = outputs["input_ids"], outputs["attention_mask"]
    assert ids.dtype == mask.dtype == np.int64 and ids.shape == mask.shape == (1, ids.shape[1])
    assert mask.all()
    vocab = json.loads((folder / "tokenizer.json").read_text(encoding="utf-8"))["model"]["vocab"]
    tokens = [vocab[i][0] for i in ids[0]]
    if name == "xlmr":  # <s> ... </s>, with the fairseq layout: <s> 0, <pad> 1, </s> 2, <unk> 3
        assert (tokens[0], tokens[-1], ids[0][0], ids[0][-1]) == ("<s>", "</s>", 0, 2)
    else:  # T5: eos only
        assert tokens[-1] == "</s>" and "<s>" not in tokens


def test_real_text_ids_equal_hugging_face(family, real_text, op_parity):
    name, folder, graph = family
    report, _ = op_parity(graph, folder, real_text, MAX_LENGTH, UNIGRAM, f"{name}: real text")
    assert report.classes["all"].texts == len(real_text)
    assert report.mismatches == [], report.mismatches[:3]


def test_real_text_ids_equal_the_tokenizers_library(family, real_text):
    _name, folder, graph = family
    reference = Tokenizer.from_file(str(folder / "tokenizer.json"))
    reference.enable_truncation(MAX_LENGTH)
    session = open_session(graph)
    assert [t for t in real_text if run_one(session, t)["input_ids"][0].tolist() != reference.encode(t).ids] == []


def test_unknown_pieces_map_to_the_models_unk(family):
    _name, folder, graph = family
    data = json.loads((folder / "tokenizer.json").read_text(encoding="utf-8"))
    ids = run_one(open_session(graph), "a \U0001d11e b")["input_ids"][0].tolist()
    assert data["model"]["unk_id"] in ids


def test_hard_texts_differ_only_in_declared_classes(family, hard_texts, op_parity):
    name, folder, graph = family
    report, undeclared = op_parity(graph, folder, list(hard_texts), MAX_LENGTH, UNIGRAM, f"{name}: hard texts")
    assert undeclared == []
    assert {m.text for m in report.mismatches} <= {"a\x00b", "<mask> x </s> y <s>"}


def test_random_unicode_differs_only_in_declared_classes(family, op_parity):
    name, folder, graph = family
    texts = random_unicode(3000, seed=5)
    report, undeclared = op_parity(graph, folder, texts, MAX_LENGTH, UNIGRAM, f"{name}: random Unicode")
    counts = {lim.name: sum(lim.matches(m.text) for m in report.mismatches) for lim in UNIGRAM}
    print(f"{len(report.mismatches)} of {len(texts)} differ; by declared class: {counts}")
    assert undeclared == []


def test_combining_mark_sequences(family, op_parity):
    """Base characters followed by 1 to 3 combining marks: the only differences are stacked marks."""
    name, folder, graph = family
    rng = random.Random(3)
    marks = [chr(c) for c in range(0x300, 0x10000) if unicodedata.category(chr(c)) in ("Mn", "Mc", "Me")]
    bases = [chr(c) for c in range(0x20, 0x30000) if unicodedata.category(chr(c))[0] in "LNSP"]
    texts = [f"x {rng.choice(bases)}{''.join(rng.choices(marks, k=rng.randint(1, 3)))} y" for _ in range(2000)]
    report, undeclared = op_parity(graph, folder, texts, MAX_LENGTH, UNIGRAM, f"{name}: base + combining marks")
    in_class = sum(DECLARED["stacked-combining-marks"].matches(t) for t in texts)
    print(f"{len(report.mismatches)} of {in_class} texts in stacked-combining-marks differ")
    assert undeclared == []


@pytest.mark.slow
def test_every_code_point_between_letters(family):
    """"a" + c + "b" for every code point: only NUL and U+0085 differ (both declared).

    The words go through an untruncated stage SWEEP_GROUP at a time, joined by spaces (SentencePiece
    never joins pieces across a space), which is 2,000 times fewer runs than a word per run; the
    words of a group that differs are then run one by one, so each differing code point is named.
    """
    name, folder, _ = family
    reference = Tokenizer.from_file(str(folder / "tokenizer.json"))
    session = open_session(build_sentencepiece_op_graph(folder / "tokenizer.json", SWEEP_LENGTH, with_token_type_ids=False))

    def differing(texts: list[str]) -> list[int]:
        expected = reference.encode_batch(texts)
        assert all(len(e.ids) < SWEEP_LENGTH for e in expected), "a group reaches the sweep's max_length"
        return [i for i, (t, e) in enumerate(zip(texts, expected)) if run_one(session, t)["input_ids"][0].tolist() != e.ids]

    words = [f"a{chr(c)}b" for c in range(0x110000) if not 0xD800 <= c <= 0xDFFF]
    groups = [words[i : i + SWEEP_GROUP] for i in range(0, len(words), SWEEP_GROUP)]
    suspects = [word for g in differing([" ".join(group) for group in groups]) for word in groups[g]]
    differ = [ord(suspects[i][1]) for i in differing(suspects)]
    print(f"{name}: {len(differ)} of {len(words)} code points differ: {[hex(c) for c in differ]}")
    assert differ == [0x0, 0x85]


def test_truncation_keeps_the_special_tokens_as_hugging_face_does(family, op_parity):
    name, folder, graph = family
    edges = [" ".join(["word"] * n) for n in range(MAX_LENGTH - 5, MAX_LENGTH + 5)]
    edges += ["ab" * n for n in range(MAX_LENGTH - 3, MAX_LENGTH * 2 + 3, 7)] + ["x" * 20000]
    report, _ = op_parity(graph, folder, edges, MAX_LENGTH, UNIGRAM, f"{name}: truncation edges")
    assert report.mismatches == []
    assert report.classes["long"].texts > 0


def _edited(tmp_path, tiny_model, edit):  # type: ignore[no-untyped-def]
    folder = tmp_path / "xlmr"
    shutil.copytree(tiny_model("xlmr"), folder)
    data = json.loads((folder / "tokenizer.json").read_text(encoding="utf-8"))
    edit(data)
    (folder / "tokenizer.json").write_text(json.dumps(data), encoding="utf-8")
    return folder / "tokenizer.json"


@pytest.mark.parametrize(
    ("edit", "reason"),
    [
        (lambda d: d["model"].update(byte_fallback=True), "byte fallback"),
        (lambda d: d.update(normalizer={"type": "Lowercase"}), "Lowercase"),
        (lambda d: d["pre_tokenizer"]["pretokenizers"][1].update(prepend_scheme="never"), "Metaspace settings"),
        (lambda d: d.update(pre_tokenizer={"type": "ByteLevel"}), "ByteLevel"),
    ],
)
def test_refuses_what_sentencepiece_does_not_run(tmp_path, tiny_model, edit, reason):
    with pytest.raises(UnsupportedModelError, match=reason):
        build_sentencepiece_op_graph(_edited(tmp_path, tiny_model, edit), MAX_LENGTH, with_token_type_ids=False)


def test_every_limitation_has_a_measured_rate_and_an_example():
    examples = ("a\x00b", "x </s>", "o\u0302\u0323", "a\x85b")
    assert all(lim.measured_rate and lim.description for lim in UNIGRAM)
    assert all(lim.matches(example) for lim, example in zip(UNIGRAM, examples))
