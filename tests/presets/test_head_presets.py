"""Reranker and classifier presets: each fits its schema, is listed with its function, and its
settings convert a tiny model built to them into a graph scoring as sentence-transformers'
CrossEncoder (rerankers) or transformers (classifiers) does.

The tiny models are tests/core/classifiers.py's, of the preset's tokenizer family and lower-casing,
with the preset's labels (one label for a reranker). DistilBERT has no tiny classifier there, so the
SST-2 preset is converted on BERT with the same uncased WordPiece settings: that proves its
tokenizer settings, labels and head, not the DistilBERT encoder's export. Presets whose settings
coincide on the tiny model (the length capped to its positions) convert once.
"""

from __future__ import annotations

import copy
import json
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import onnx
import pytest
from click.testing import CliRunner
from embedpipe import ONNXPipeline, ONNXPipelineConfig, contract
from embedpipe.cli import main
from embedpipe.config import resolve
from embedpipe.runtime import open_session, run_inputs
from embedpipe.source import load_source
from embedpipe_presets.models import HEAD_PRESETS, PRESETS
from embedpipe_presets.schema import check_preset

from tests.core.classifiers import build_classifier
from tests.models import FAMILIES

MINILM = "cross-encoder/ms-marco-MiniLM-L-6-v2"
SST2 = "distilbert/distilbert-base-uncased-finetuned-sst-2-english"
TINY_LENGTH = 64  # within the tiny classifiers' 130 positions, short enough to truncate the long pair
# (config.json model_type, tokenizer family) -> tests/core/classifiers.py family with those settings.
TINY_FAMILY = {
    ("bert", contract.WORDPIECE): "bert-uncased",
    ("distilbert", contract.WORDPIECE): "bert-uncased",  # stand-in: same uncased WordPiece, BERT encoder
    ("xlm-roberta", contract.UNIGRAM): "xlmr",
    ("roberta", contract.BPE): "roberta",
}
PAIRS = [
    ("what is a vector?", "A vector is a list of numbers."),
    ("naïve CAFÉ", "café au lait, s'il vous plaît"),
    ("日本語のテキスト", " "),
    ("how long is long? " * 20, "a passage that goes on " * 30),
]
TEXTS = ["what a lovely day", "NOT GOOD AT ALL", "naïve café 😀", "mixed 日本語 text", "a review that goes on " * 40]


def conversion_settings(spec: dict[str, Any]) -> dict[str, Any]:
    """The preset's config properties, the length capped to the tiny model's."""
    settings = {k: v for k, v in spec.items() if not k.startswith("_")}
    settings["max_seq_length"] = min(settings["max_seq_length"], TINY_LENGTH)
    return settings


def _groups() -> list[tuple[str, dict[str, Any], list[str]]]:
    """Distinct (tiny family, settings) -> the presets sharing them."""
    groups: dict[str, tuple[str, dict[str, Any], list[str]]] = {}
    for name, spec in HEAD_PRESETS.items():
        family, settings = TINY_FAMILY[(spec["_architecture"], spec["_tokenizer_family"])], conversion_settings(spec)
        groups.setdefault(json.dumps([family, settings], sort_keys=True), (family, settings, []))[2].append(name)
    return list(groups.values())


GROUPS = _groups()


def test_each_tiny_family_has_its_presets_lower_casing() -> None:
    """The tiny model is built to the preset's settings: a WordPiece family lower-cases exactly as it says."""
    for family, settings, names in GROUPS:
        assert FAMILIES[family].lowercase == settings.get("do_lower_case", FAMILIES[family].lowercase), names


def _id2label(spec: dict[str, Any]) -> dict[int, str]:
    return dict(enumerate(spec.get("labels", ["LABEL_0"])))


@pytest.fixture(scope="module")
def tiny_head(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    """``build(family, spec)``: a tiny classifier of ``family`` with the preset's labels, built once."""
    built: dict[str, Path] = {}

    def build(family: str, spec: dict[str, Any]) -> Path:
        key = json.dumps([family, _id2label(spec)])
        if key not in built:
            built[key] = build_classifier(tmp_path_factory.mktemp("head"), family, _id2label(spec))
        return built[key]

    return build


@pytest.mark.parametrize("name", list(HEAD_PRESETS))
def test_every_head_preset_fits_the_schema(name: str) -> None:
    assert check_preset(name, HEAD_PRESETS[name]) == []


@pytest.mark.parametrize(
    ("name", "change", "complaint"),
    [
        (MINILM, lambda s: s.update(function="embedding"), "function has an impossible value"),
        (MINILM, lambda s: s.update(_num_labels=2), "exactly one label"),
        (MINILM, lambda s: s.update(labels=["relevant"]), "a regression head has no labels"),
        (MINILM, lambda s: s.pop("do_lower_case"), "do_lower_case belongs"),
        (MINILM, lambda s: s.update(pooling="cls"), "unknown key 'pooling'"),
        ("BAAI/bge-reranker-base", lambda s: s["_source"].pop("max_seq_length"), "no source for 'max_seq_length'"),
        ("BAAI/bge-reranker-base", lambda s: s.update(_architecture="deberta-v2"), "_architecture has an impossible value"),
        (SST2, lambda s: s.pop("labels"), "names each of its 2 labels"),
        (SST2, lambda s: s.update(labels=["A", "A"]), "labels has an impossible value"),
        (SST2, lambda s: s.pop("_num_labels"), "missing '_num_labels'"),
    ],
)
def test_the_schema_catches_a_broken_head_preset(name: str, change, complaint: str) -> None:  # type: ignore[no-untyped-def]
    spec = copy.deepcopy(HEAD_PRESETS[name])
    change(spec)
    assert any(complaint in problem for problem in check_preset("broken", spec)), check_preset("broken", spec)


def test_head_presets_are_registered_beside_the_embedding_presets() -> None:
    assert not HEAD_PRESETS.keys() & PRESETS.keys()
    assert ONNXPipelineConfig.show_preconfigured(include_properties=True) == {**PRESETS, **HEAD_PRESETS}
    for name, spec in HEAD_PRESETS.items():
        public = {k: v for k, v in spec.items() if not k.startswith("_")}
        assert ONNXPipelineConfig(name).preset == public
        ONNXPipelineConfig(**public)  # every property is one the config accepts


def test_presets_command_lists_each_head_with_its_function(monkeypatch: pytest.MonkeyPatch) -> None:
    from embedpipe import cli

    monkeypatch.setattr(cli.out, "width", 400)  # the console's width is fixed when the CLI is imported
    runner = CliRunner()
    listed = json.loads(runner.invoke(main, ["presets", "--json"]).stdout)
    assert {name: listed[name]["function"] for name in HEAD_PRESETS} == {n: spec["function"] for n, spec in HEAD_PRESETS.items()}
    table = runner.invoke(main, ["presets"])
    assert table.exit_code == 0, table.output
    rows = {line.split()[1]: line for line in table.output.splitlines() if line.split()[1:2] and line.split()[1] in HEAD_PRESETS}
    assert set(rows) == set(HEAD_PRESETS)
    assert all(f"function={HEAD_PRESETS[name]['function']}" in row for name, row in rows.items())


@pytest.mark.parametrize(("family", "settings", "names"), GROUPS, ids=[f"{g[0]}-{g[2][0]}" for g in GROUPS])
def test_preset_settings_convert_to_a_head_scoring_as_the_reference(tiny_head, tmp_path, family, settings, names) -> None:  # type: ignore[no-untyped-def]
    folder = tiny_head(family, HEAD_PRESETS[names[0]])
    path = ONNXPipeline(folder, ONNXPipelineConfig(**settings, validate=False)).export2file("head", tmp_path)
    graph = onnx.load(str(path), load_external_data=False)
    recorded = json.loads({p.key: p.value for p in graph.metadata_props}[contract.SETTINGS_KEY])
    assert recorded["function"] == settings["function"]
    session = open_session(path)
    if settings["function"] == contract.REGRESSION:
        assert [i.name for i in graph.graph.input] == list(contract.PAIR_TEXTS)
        got = np.array([run_inputs(session, pair)[0] for pair in PAIRS])
        np.testing.assert_allclose(got, _crossencoder_logits(folder, PAIRS), atol=1e-4)
    else:
        assert recorded["labels"] == settings["labels"]
        got = np.array([run_inputs(session, (text,)) for text in TEXTS])
        np.testing.assert_allclose(got, _transformers_probabilities(folder, TEXTS), atol=1e-4)


def _crossencoder_logits(folder: Path, pairs: list[tuple[str, str]]) -> np.ndarray:
    """CrossEncoder.predict's raw logit (the graph's default activation for a reranker)."""
    import torch
    from sentence_transformers import CrossEncoder

    model = CrossEncoder(str(folder), device="cpu", max_length=TINY_LENGTH)
    return model.predict([list(p) for p in pairs], activation_fn=torch.nn.Identity(), convert_to_numpy=True)


def _transformers_probabilities(folder: Path, texts: list[str]) -> np.ndarray:
    """The transformers model's softmaxed logits, each text tokenized alone as the graph does."""
    import torch
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(str(folder))
    model = AutoModelForSequenceClassification.from_pretrained(str(folder)).eval()
    with torch.no_grad():
        batches = [tokenizer([t], truncation=True, max_length=TINY_LENGTH, return_tensors="pt") for t in texts]
        logits = [model(**batch).logits[0] for batch in batches]
    return torch.softmax(torch.stack(logits), dim=-1).numpy()


def _named_like(tiny_head, name: str, root: Path) -> Path:  # type: ignore[no-untyped-def]
    """A copy of the tiny model of ``name``'s settings in ``root/<name>``, so the name finds the preset."""
    spec = HEAD_PRESETS[name]
    folder = tiny_head(TINY_FAMILY[(spec["_architecture"], spec["_tokenizer_family"])], spec)
    return Path(shutil.copytree(folder, root / name))


@pytest.mark.parametrize("name", [MINILM, SST2])
def test_the_preset_alone_configures_the_head(tiny_head, tmp_path: Path, name: str) -> None:  # type: ignore[no-untyped-def]
    """``ONNXPipelineConfig(name)`` resolves the preset's function and labels (the length is the tiny
    model's: a preset's 512 exceeds its positions)."""
    spec = HEAD_PRESETS[name]
    config = ONNXPipelineConfig(name, max_seq_length=TINY_LENGTH)
    settings = resolve(config, load_source(_named_like(tiny_head, name, tmp_path)))
    assert settings.function == spec["function"]
    assert settings.head.labels == tuple(spec.get("labels", ()))


def test_convert_with_the_preset_builds_a_reranker(tiny_head, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    """``embedpipe convert cross-encoder/ms-marco-MiniLM-L-6-v2`` (the preset on by default) on a
    local folder of that name writes a regression graph (its scores are the conversion test's)."""
    _named_like(tiny_head, MINILM, tmp_path)
    monkeypatch.chdir(tmp_path)
    options = ["--max-seq-length", str(TINY_LENGTH), "-o", "reranker.onnx", "--no-validate"]
    result = CliRunner().invoke(main, ["convert", MINILM, *options])
    assert result.exit_code == 0, result.output
    graph = onnx.load(str(tmp_path / "reranker.onnx"), load_external_data=False)
    assert [o.name for o in graph.graph.output] == [contract.LOGITS]
    assert json.loads({p.key: p.value for p in graph.metadata_props}[contract.SETTINGS_KEY])["function"] == contract.REGRESSION
