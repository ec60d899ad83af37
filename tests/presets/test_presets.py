"""The preconfigured list: every preset fits the schema, covers OML4Py's list, and converts.

The conversion tests build a tiny random-weight model of each preset's architecture with that
preset's settings (pooling, Normalize, Dense, lower-casing, prompts; length capped to the tiny
model's 128 positions), convert it with those settings and compare with sentence-transformers
loading the same folder. Presets with identical settings on the same tiny family convert once.
"""

from __future__ import annotations

import copy
import json
import logging
from dataclasses import fields
from typing import Any

import numpy as np
import pytest
from click.testing import CliRunner
from embedpipe import ONNXPipeline, ONNXPipelineConfig
from embedpipe.cli import main
from embedpipe.config import resolve
from embedpipe.runtime import embed, open_session
from embedpipe.samples import SAMPLES
from embedpipe.source import load_source
from embedpipe_presets.models import HEAD_PRESETS, PRESETS
from embedpipe_presets.schema import check_preset

from tests.conftest import ORACLE_EXACT_SAMPLES
from tests.models import FAMILIES

MIN_COSINE = 0.9999
TINY_POSITIONS = 128
TINY_DENSE_OUT = 16  # the tiny models are 32 wide; a preset's Dense keeps its shape of "narrower, Tanh"
UNBUILT = {"prompt", "prompt_name", "truncate_dim", "batch"}  # properties resolve refuses until built

# OML4Py's preconfigured text models (../shared/design/oracle.md), plus what users ask for.
OML4PY_LIST = [
    "sentence-transformers/all-mpnet-base-v2", "sentence-transformers/all-MiniLM-L6-v2",
    "sentence-transformers/all-MiniLM-L12-v2", "sentence-transformers/multi-qa-MiniLM-L6-cos-v1",
    "sentence-transformers/distiluse-base-multilingual-cased-v2",
    "sentence-transformers/paraphrase-multilingual-mpnet-base-v2", "sentence-transformers/stsb-xlm-r-multilingual",
    "BAAI/bge-small-en-v1.5", "BAAI/bge-base-en-v1.5", "TaylorAI/bge-micro-v2", "TaylorAI/gte-tiny",
    "intfloat/e5-small-v2", "intfloat/e5-base-v2", "intfloat/multilingual-e5-small", "intfloat/multilingual-e5-base",
    "thenlper/gte-small", "thenlper/gte-base", "Snowflake/snowflake-arctic-embed-xs",
    "Snowflake/snowflake-arctic-embed-s", "Snowflake/snowflake-arctic-embed-m", "mixedbread-ai/mxbai-embed-large-v1",
    "prajjwal1/bert-tiny", "ProsusAI/finbert", "medicalai/ClinicalBERT", "infgrad/stella-base-en-v2",
    "microsoft/codebert-base",
]
ASKED_FOR = ["BAAI/bge-large-en-v1.5", "nomic-ai/nomic-embed-text-v1.5", "BAAI/bge-m3", "intfloat/multilingual-e5-large",
             "sentence-transformers/paraphrase-multilingual-MiniLM-L12-v2", "Snowflake/snowflake-arctic-embed-m-v1.5"]

# Architectures whose code lives in the model repository, converted as the standard architecture
# they extend. For nomic_bert this proves the preset's tokenizer (bert-base-uncased WordPiece),
# pooling, Normalize and prompts convert; it does not prove nomic_bert's encoder (rotary
# positions, SwiGLU) exports, which only the real model with trust_remote_code can show.
STAND_INS = {"nomic_bert": "bert"}
FAMILY_OF = {
    ("distilbert", "wordpiece"): "distilbert",
    ("mpnet", "wordpiece"): "mpnet",
    ("roberta", "bpe"): "roberta",
    ("xlm-roberta", "unigram"): "xlmr",
    ("bert", "unigram"): "bert-sentencepiece",  # Multilingual-MiniLM: a BertModel under XLM-R's tokenizer
}


def tiny_family(spec: dict[str, Any]) -> str:
    """The tests/models.py family that has this preset's architecture and tokenizer."""
    architecture = STAND_INS.get(spec["_architecture"], spec["_architecture"])
    if (architecture, spec["_tokenizer_family"]) == ("bert", "wordpiece"):
        return "bert-uncased" if spec["do_lower_case"] else "bert-cased"
    return FAMILY_OF[(architecture, spec["_tokenizer_family"])]


def conversion_settings(spec: dict[str, Any]) -> dict[str, Any]:
    """The preset's config properties, the length capped to what a tiny model has."""
    settings = {k: v for k, v in spec.items() if not k.startswith("_")}
    settings["max_seq_length"] = min(settings["max_seq_length"], TINY_POSITIONS)
    return settings


def _groups() -> dict[str, tuple[str, dict[str, Any], bool, list[str]]]:
    """Distinct (family, settings, Dense?) -> the presets sharing them; only families that exist."""
    groups: dict[str, tuple[str, dict[str, Any], bool, list[str]]] = {}
    for name, spec in PRESETS.items():
        family = tiny_family(spec)
        if family not in FAMILIES:
            continue
        settings, dense = conversion_settings(spec), "_dense" in spec
        key = json.dumps([family, settings, dense], sort_keys=True)
        groups.setdefault(key, (family, settings, dense, []))[3].append(name)
    return groups


GROUPS = list(_groups().values())


@pytest.mark.parametrize("name", list(PRESETS))
def test_every_preset_fits_the_schema(name: str) -> None:
    assert check_preset(name, PRESETS[name]) == []


@pytest.mark.parametrize(
    ("change", "complaint"),
    [
        (lambda s: s.update(colour="red"), "unknown key"),
        (lambda s: s.pop("pooling"), "missing 'pooling'"),
        (lambda s: s.update(pooling="median"), "pooling has an impossible value"),
        (lambda s: s.update(normalize=False), "distance_metrics"),  # DOT needs unit vectors
        (lambda s: s["_source"].pop("max_seq_length"), "no source for 'max_seq_length'"),
        (lambda s: s.update(_matryoshka_dims=[256, 768]), "_matryoshka_dims"),
        (lambda s: s.update(_tokenizer_family="unigram"), "do_lower_case belongs"),
        (lambda s: s.update(_architecture="nomic_bert"), "_remote_code"),
        (lambda s: s.update(_embedding_dim=70000), "_embedding_dim has an impossible value"),
    ],
)
def test_the_schema_catches_a_broken_preset(change, complaint: str) -> None:  # type: ignore[no-untyped-def]
    spec = copy.deepcopy(PRESETS["BAAI/bge-small-en-v1.5"])
    change(spec)
    assert any(complaint in problem for problem in check_preset("broken", spec))


def test_preset_properties_are_config_properties_the_config_accepts() -> None:
    known = {f.name for f in fields(ONNXPipelineConfig)}
    for name, spec in PRESETS.items():
        public = {k for k in spec if not k.startswith("_")}
        assert public <= known - UNBUILT, (name, public - known)
        config = ONNXPipelineConfig(name)
        assert config.preset == {k: spec[k] for k in public}
        ONNXPipelineConfig(**{k: spec[k] for k in public})


def test_oml4py_list_and_requested_models_are_all_preconfigured() -> None:
    names = ONNXPipelineConfig.show_preconfigured()
    assert set(OML4PY_LIST + ASKED_FOR) <= set(names)
    assert names == sorted({**PRESETS, **HEAD_PRESETS})


def test_show_preconfigured_gives_each_spec_with_its_sources() -> None:
    specs = ONNXPipelineConfig.show_preconfigured(include_properties=True)
    assert specs == {**PRESETS, **HEAD_PRESETS}
    nomic = specs["nomic-ai/nomic-embed-text-v1.5"]
    assert nomic["_remote_code"] is True and nomic["_matryoshka_dims"][0] == nomic["_embedding_dim"] == 768
    assert nomic["_source"]["prompts"].endswith("config_sentence_transformers.json")


def test_presets_command_lists_every_spec_as_json() -> None:
    result = CliRunner().invoke(main, ["presets", "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == json.loads(json.dumps({**PRESETS, **HEAD_PRESETS}))


def _resolve_with_preset(folder, preset: str, caplog: pytest.LogCaptureFixture, **properties: Any):  # type: ignore[no-untyped-def]
    with caplog.at_level(logging.WARNING):
        return resolve(ONNXPipelineConfig(preset, **properties), load_source(folder))


def test_the_model_pooling_wins_over_the_preset_and_a_warning_says_so(tiny_model, caplog: pytest.LogCaptureFixture) -> None:  # type: ignore[no-untyped-def]
    folder = tiny_model("bert-uncased", pooling="mean", max_seq_length=64)
    settings = _resolve_with_preset(folder, "Snowflake/snowflake-arctic-embed-xs", caplog, max_seq_length=64)  # preset: cls
    assert settings.pooling == "mean"
    assert "pooling='mean' but its preset says 'cls'" in caplog.text


def test_the_model_length_wins_over_the_preset_and_a_warning_says_so(tiny_model, caplog: pytest.LogCaptureFixture) -> None:  # type: ignore[no-untyped-def]
    """sentence-transformers 6 saves the length as the tokenizer's model_max_length, not in sentence_bert_config.json."""
    folder = tiny_model("bert-uncased", pooling="mean", max_seq_length=64)
    settings = _resolve_with_preset(folder, "Snowflake/snowflake-arctic-embed-xs", caplog)  # preset: 512
    assert settings.max_seq_length == 64
    assert "max_seq_length=64 but its preset says 512" in caplog.text


def test_every_preset_architecture_has_a_tiny_family() -> None:
    """Fails until tests/models.py has every family the presets need (xlmr, roberta, bert-sentencepiece)."""
    missing = {tiny_family(spec) for spec in PRESETS.values()} - set(FAMILIES)
    assert not missing, f"tests/models.py lacks tiny families {sorted(missing)}"


@pytest.mark.parametrize(("family", "settings", "dense", "names"), GROUPS, ids=[f"{g[0]}-{g[3][0]}" for g in GROUPS])
def test_preset_settings_convert_like_sentence_transformers(tiny_model, real_text, family, settings, dense, names) -> None:  # type: ignore[no-untyped-def]
    from sentence_transformers import SentenceTransformer

    folder = tiny_model(
        family, pooling=settings["pooling"], normalize=settings["normalize"],
        dense_out=TINY_DENSE_OUT if dense else None, max_seq_length=settings["max_seq_length"],
    )
    model = ONNXPipeline(folder, ONNXPipelineConfig(**settings, validate=False)).build()
    lower = {"do_lower_case": settings["do_lower_case"]} if "do_lower_case" in settings else None
    reference = SentenceTransformer(str(folder), device="cpu", processor_kwargs=lower)
    texts = list(ORACLE_EXACT_SAMPLES) + real_text[:150]
    got = embed(open_session(model), texts)
    want = reference.encode(texts, batch_size=16)
    assert got.shape == want.shape == (len(texts), TINY_DENSE_OUT if dense else reference.get_embedding_dimension())
    cos = np.sum(got * want, axis=1) / (np.linalg.norm(got, axis=1) * np.linalg.norm(want, axis=1))
    assert cos.min() >= MIN_COSINE, (names, [texts[i][:60] for i in np.argsort(cos)[:5]])
    if settings["normalize"]:
        np.testing.assert_allclose(np.linalg.norm(got, axis=1), 1.0, atol=1e-5)


@pytest.mark.compat
@pytest.mark.parametrize(("family", "settings", "dense", "names"), GROUPS, ids=[f"{g[0]}-{g[3][0]}" for g in GROUPS])
def test_preset_graphs_run_alike_in_oracles_runtimes(tiny_model, tmp_path, family, settings, dense, names) -> None:  # type: ignore[no-untyped-def]
    from embedpipe.compat import check_compat

    folder = tiny_model(
        family, pooling=settings["pooling"], normalize=settings["normalize"],
        dense_out=TINY_DENSE_OUT if dense else None, max_seq_length=settings["max_seq_length"],
    )
    path = ONNXPipeline(folder, ONNXPipelineConfig(**settings, validate=False)).export2file("preset", tmp_path)
    report = check_compat(path, list(SAMPLES))
    assert report.ok, (names, report.table())
