"""Prompts baked into the graph (contrib `embedpipe-prompts`) against ``SentenceTransformer.encode(prompt=...)``.

The prompt is tokenized together with the text inside the graph, so truncation must count its
tokens as sentence-transformers does: long documents are part of every comparison.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from sentence_transformers import SentenceTransformer

from embedpipe import ONNXPipeline, ONNXPipelineConfig
from embedpipe.errors import ConfigError, UnsupportedModelError
from embedpipe.pipeline import pipeline_for_graph
from embedpipe.runtime import embed, open_session
from embedpipe.samples import SAMPLES

from tests.conftest import ORACLE_EXACT_SAMPLES

MIN_COSINE = 0.9999
PROMPTS = {"query": "query: ", "passage": "passage: ", "instruct": "Represent this sentence for searching relevant passages: "}
LONG = ["word " * 400, "naïve café " * 300, "x" * 20_000]


def _texts(real_text: list[str]) -> list[str]:
    return [*ORACLE_EXACT_SAMPLES, *real_text[::40], *LONG]


def _cosines(got: np.ndarray, want: np.ndarray) -> np.ndarray:
    want = want / np.maximum(np.linalg.norm(want, axis=1, keepdims=True), 1e-12)
    got = got / np.maximum(np.linalg.norm(got, axis=1, keepdims=True), 1e-12)
    return (got * want).sum(axis=1)


def _with_prompts(folder: Path, target: Path, default: str | None) -> Path:
    """A copy of ``folder`` whose config_sentence_transformers.json declares PROMPTS (and a default)."""
    shutil.copytree(folder, target)
    declaration = target / "config_sentence_transformers.json"
    data = json.loads(declaration.read_text(encoding="utf-8")) if declaration.is_file() else {}
    declaration.write_text(json.dumps({**data, "prompts": PROMPTS, "default_prompt_name": default}), encoding="utf-8")
    return target


@pytest.fixture(scope="module")
def prompted(tiny_model, tmp_path_factory: pytest.TempPathFactory) -> Path:  # type: ignore[no-untyped-def]
    return _with_prompts(tiny_model("bert-uncased"), tmp_path_factory.mktemp("prompted") / "model", None)


@pytest.mark.parametrize("name", sorted(PROMPTS))
def test_named_prompt_equals_encode_with_that_prompt(prompted: Path, real_text: list[str], name: str) -> None:
    texts = _texts(real_text)
    pipe = ONNXPipeline(prompted, ONNXPipelineConfig(prompt_name=name, validate=False))
    got = embed(open_session(pipe.build()), texts)
    want = SentenceTransformer(str(prompted), device="cpu").encode(texts, prompt_name=name)
    cosines = _cosines(np.asarray(got), want)
    assert cosines.min() >= MIN_COSINE, texts[int(cosines.argmin())][:80]


def test_explicit_prompt_on_minilm_counts_prompt_tokens_in_truncation(minilm_dir: Path, minilm_reference, real_text: list[str]) -> None:  # type: ignore[no-untyped-def]
    texts = _texts(real_text)
    prompt = PROMPTS["instruct"]
    pipe = ONNXPipeline(minilm_dir, ONNXPipelineConfig(prompt=prompt, validate=False))
    got = np.asarray(embed(open_session(pipe.build()), texts))
    cosines = _cosines(got, minilm_reference.encode(texts, prompt=prompt))
    assert cosines.min() >= MIN_COSINE, texts[int(cosines.argmin())][:80]
    # The prompt really is in the graph: without it the long documents would differ.
    plain = minilm_reference.encode(LONG)
    assert _cosines(got[-len(LONG) :], plain).max() < MIN_COSINE


def test_default_prompt_name_applies_as_sentence_transformers_does(tiny_model, tmp_path: Path, real_text: list[str]) -> None:  # type: ignore[no-untyped-def]
    folder = _with_prompts(tiny_model("bert-uncased"), tmp_path / "model", "query")
    texts = _texts(real_text)
    got = embed(open_session(ONNXPipeline(folder, ONNXPipelineConfig(validate=False)).build()), texts)
    want = SentenceTransformer(str(folder), device="cpu").encode(texts)  # applies the default prompt itself
    assert _cosines(np.asarray(got), want).min() >= MIN_COSINE


def test_unknown_prompt_name_is_a_one_line_error(prompted: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        ONNXPipeline(prompted, ONNXPipelineConfig(prompt_name="question")).build()
    message = str(caught.value)
    assert "'question'" in message and "instruct, passage, query" in message and "\n" not in message


def test_export_validates_with_the_prompt_and_records_it(prompted: Path, tmp_path: Path) -> None:
    pipe = ONNXPipeline(prompted, ONNXPipelineConfig(prompt_name="query"))
    path = pipe.export2file("prompted", tmp_path)
    assert pipe.report is not None and pipe.report.ok
    assert pipe.settings_properties()["prompt"] == PROMPTS["query"]
    again = pipeline_for_graph(path, str(prompted))
    assert again.validate(model=path).ok


def test_op_tokenizer_refuses_a_prompt_it_cannot_place_exactly(prompted: Path) -> None:
    with pytest.raises(UnsupportedModelError):
        ONNXPipeline(prompted, ONNXPipelineConfig(prompt_name="query", tokenizer="bert-op")).build()


@pytest.mark.compat
def test_prompted_graph_runs_in_oracles_runtimes(prompted: Path, tmp_path: Path) -> None:
    from embedpipe.compat import check_compat

    path = ONNXPipeline(prompted, ONNXPipelineConfig(prompt_name="query", validate=False)).export2file("prompted", tmp_path)
    report = check_compat(path, [*SAMPLES, *LONG])
    assert report.ok, report.table()


@pytest.mark.parametrize("family", ["xlmr", "t5"])
def test_exact_sentencepiece_places_the_prompt_like_encode(tiny_model, family: str, real_text: list[str]) -> None:  # type: ignore[no-untyped-def]
    """multilingual-e5 style: "query: " before XLM-R/T5 text, tokenized together by the exact Unigram stage."""
    folder = tiny_model(family)
    texts = _texts(real_text)
    pipe = ONNXPipeline(folder, ONNXPipelineConfig(prompt=PROMPTS["query"], validate=False))
    assert pipe.settings.tokenizer == "unigram"
    got = np.asarray(embed(open_session(pipe.build()), texts))
    want = SentenceTransformer(str(folder), device="cpu").encode(texts, prompt=PROMPTS["query"])
    cosines = _cosines(got, want)
    assert cosines.min() >= MIN_COSINE, texts[int(cosines.argmin())][:80]
