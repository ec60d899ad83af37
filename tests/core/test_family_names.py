"""One name per tokenizer family, defined in core's contract, wherever a family is named: the
tokenizer plugin's stages and resolver, the presets and their schema, the Oracle load metadata
(issue 14, points 6 and 8)."""

from __future__ import annotations

import copy
import json
from types import SimpleNamespace

import pytest
from embedpipe import contract
from embedpipe.plugins import PluginManager
from embedpipe_oracle.metadata import GraphFacts, build_metadata
from embedpipe_presets.models import PRESETS
from embedpipe_presets.schema import check_preset
from embedpipe_tokenizers.families import family_tokenizer

from tests.oracle.double import _TOKENIZERS as ORACLE_TOKENIZERS


def test_the_tokenizer_plugin_registers_the_contracts_stages_with_each_familys_exact_stage_under_its_name() -> None:
    manager = PluginManager()
    manager.load_entry_points(strict=True)
    registered = {name: r for name, r in manager.registry("tokenizers").items() if r.plugin == "tokenizers"}
    assert set(registered) == set(contract.TOKENIZER_STAGE_FAMILIES)
    assert set(contract.TOKENIZER_STAGE_FAMILIES.values()) == set(contract.TOKENIZER_FAMILIES)
    assert all(contract.TOKENIZER_STAGE_FAMILIES[family] == family for family in contract.TOKENIZER_FAMILIES)
    assert registered["bert"].factory == registered[contract.WORDPIECE].factory  # the earlier name still works


@pytest.mark.parametrize(
    ("model_type", "pre_tokenizer", "declared", "family"),
    [
        ("WordPiece", "BertPreTokenizer", "", contract.WORDPIECE),
        ("", "", "MPNetTokenizer", contract.WORDPIECE),
        ("BPE", "ByteLevel", "RobertaTokenizer", contract.BPE),
        ("BPE", "ByteLevel", "", contract.BPE),
        ("Unigram", "Metaspace", "XLMRobertaTokenizer", contract.UNIGRAM),
        ("Unigram", "Metaspace", "", contract.UNIGRAM),
    ],
)
def test_the_resolver_answers_with_a_family_name(model_type: str, pre_tokenizer: str, declared: str, family: str) -> None:
    source = SimpleNamespace(
        tokenizer_model_type=model_type,
        tokenizer_class=declared,
        tokenizer_definition={"model": {"type": model_type}, "pre_tokenizer": {"type": pre_tokenizer}},
    )
    assert family_tokenizer(source) == family  # type: ignore[arg-type]


def test_the_presets_and_their_schema_use_the_contracts_families() -> None:
    assert {spec["_tokenizer_family"] for spec in PRESETS.values()} == set(contract.TOKENIZER_FAMILIES)
    spec = copy.deepcopy(PRESETS["BAAI/bge-small-en-v1.5"])
    spec["_tokenizer_family"] = "sentencepiece"  # the presets' earlier name for unigram
    assert any("_tokenizer_family has an impossible value" in p for p in check_preset("x", spec))


@pytest.mark.parametrize("stage", sorted(contract.TOKENIZER_STAGE_FAMILIES))
def test_the_oracle_metadata_names_each_stages_family_in_oracles_vocabulary(stage: str) -> None:
    facts = GraphFacts("input", contract.EMBEDDING, 384, {"embedpipe.settings": json.dumps({"tokenizer": stage})})
    expected = contract.ORACLE_TOKENIZER_NAMES.get(contract.TOKENIZER_STAGE_FAMILIES[stage])
    assert build_metadata(facts).get("tokenizer") == expected
    assert set(contract.ORACLE_TOKENIZER_NAMES) <= set(contract.TOKENIZER_FAMILIES)
    assert set(contract.ORACLE_TOKENIZER_NAMES.values()) <= ORACLE_TOKENIZERS
