"""Op profiles end to end: ``oracle`` (the default: only ops Oracle documents) and ``portable`` (no
extension op). Each family's tokenizer stage gives Hugging Face's ids in both; the profile is
recorded, shown by inspect and checked by the compatibility check; every feature exports in both;
what a profile cannot hold is refused in one line before anything is written."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import numpy as np
import onnx
import pytest
from click.testing import CliRunner
from embedpipe import ONNXPipeline, ONNXPipelineConfig, contract
from embedpipe.cli import main
from embedpipe.compat import check_compat
from embedpipe.errors import ConfigError, UnsupportedModelError
from embedpipe.oprule import check_op_rule, undocumented_ops
from embedpipe.runtime import embed, open_session
from embedpipe.tokenparity import compare_token_ids

from tests.conftest import Convert, random_unicode

FAMILIES = ("bert-uncased", "bert-cased", "mpnet", "roberta", "gpt2", "xlmr", "t5")
PROFILES = contract.OP_PROFILES


def _domains(model: onnx.ModelProto) -> set[tuple[str, str]]:
    found: set[tuple[str, str]] = set()
    stack = list(model.graph.node)
    while stack:
        node = stack.pop()
        found.add((node.domain or "", node.op_type))
        stack += [n for a in node.attribute for g in ([a.g] if a.HasField("g") else a.graphs) for n in g.node]
    return found


@pytest.mark.parametrize("family", FAMILIES)
def test_every_family_gives_hugging_face_ids_in_both_profiles(tiny_model, family, real_text, hard_texts) -> None:  # type: ignore[no-untyped-def]
    """The tokenizer stage alone, per profile: 0 mismatches on real text, the hard texts and random
    Unicode (texts holding a NUL only in the portable profile: the oracle one declares them)."""
    folder = tiny_model(family)
    texts = [*real_text[:600], *hard_texts, *random_unicode(300, seed=len(family), max_length=300)]
    for profile in PROFILES:
        pipe = ONNXPipeline(folder, ONNXPipelineConfig(op_profile=profile, validate=False))
        stage = pipe.tokenizer_graph()
        used = {domain for domain, _ in _domains(stage)}
        if profile == contract.ORACLE_PROFILE:
            assert used <= {"", "ai.onnx.ml", contract.EXTENSIONS_DOMAIN} and undocumented_ops(stage) == []
            checked = [t for t in texts if "\x00" not in t]
        else:
            assert used <= {"", "ai.onnx.ml", contract.CONTRIB_DOMAIN} and contract.EXTENSIONS_DOMAIN not in used
            checked = texts
        assert check_op_rule(stage, op_profile=profile) == []
        report = compare_token_ids(stage, folder, checked, pipe.settings.max_seq_length)
        assert not report.mismatches, (profile, report.mismatches[:3])


@pytest.fixture(scope="module")
def exports(tiny_model, converted: Convert):  # type: ignore[no-untyped-def]
    """One tiny BERT export per (profile, feature), from the session's conversions: (pipeline, file)."""
    features: dict[str, dict[str, object]] = {
        "plain": {},
        "int8": {"quantize_model": True},
        "fp16": {"use_float16": True},
        "external": {"use_external_data": True},
        "batch": {"batch": True},
        "prompt": {"prompt": "query: "},
        "matryoshka": {"truncate_dim": 8},
    }

    def export(profile: str, feature: str) -> tuple[ONNXPipeline, Path]:
        return converted(tiny_model("bert-uncased"), op_profile=profile, **features[feature])

    return export


def _graph_file(path: Path) -> Path:
    """The .onnx file of an export (unpacked first when external data went out as a zip)."""
    if path.suffix != ".zip":
        return path
    folder = path.with_suffix("")
    with zipfile.ZipFile(path) as archive:
        archive.extractall(folder)
    return next(folder.glob("*.onnx"))


@pytest.mark.parametrize("feature", ["plain", "int8", "fp16", "external", "batch", "prompt", "matryoshka"])
def test_every_feature_exports_in_the_portable_profile_and_agrees_with_oracle(exports, feature) -> None:  # type: ignore[no-untyped-def]
    """The default (oracle) graph of each feature is tested by its own module; here the portable one
    must export (validated against sentence-transformers), record its profile, keep its rule, and
    give the oracle graph's vectors."""
    texts = ["hello world", "Ünïcödé ÇAPITALS", "北京 🎉", "x" * 300]
    vectors = {}
    for profile in PROFILES:
        pipe, exported = exports(profile, feature)
        path = _graph_file(exported)
        model = onnx.load(str(path), load_external_data=False)
        manifest = json.loads({p.key: p.value for p in model.metadata_props}["embedpipe.manifest"])
        assert manifest["configuration"]["op_profile"] == profile
        assert check_op_rule(model, op_profile=profile) == []
        assert pipe.report is not None and pipe.report.ok
        vectors[profile] = embed(open_session(path), texts)
    assert np.array_equal(vectors["oracle"], vectors["portable"])


def test_a_portable_rebuild_is_byte_identical(exports, tiny_model, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    _, first = exports("portable", "plain")
    again = ONNXPipeline(tiny_model("bert-uncased"), ONNXPipelineConfig(op_profile="portable"))
    second = again.export2file(first.stem, tmp_path)
    assert first.read_bytes() == second.read_bytes()


def test_inspect_and_compat_read_the_profile(exports) -> None:  # type: ignore[no-untyped-def]
    _, oracle_path = exports("oracle", "plain")
    _, portable_path = exports("portable", "plain")
    shown = json.loads(CliRunner().invoke(main, ["inspect", str(portable_path), "--json"]).stdout)
    assert shown["op_profile"] == shown["fits_profile"] == "portable"
    assert shown["undocumented_in_oracle"] == ["com.microsoft::Tokenizer"]
    assert any("does not document" in v for v in shown["oracle_op_rule"])
    shown = json.loads(CliRunner().invoke(main, ["inspect", str(oracle_path), "--json"]).stdout)
    assert shown["op_profile"] == "oracle" and shown["undocumented_in_oracle"] == [] and shown["oracle_op_rule"] == "ok"
    report = check_compat(portable_path)
    assert report.ok and report.op_profile == "portable", report.table()
    assert "op rule (portable profile): ok" in report.table()


def test_the_cli_takes_the_profile(tiny_model, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    out = tmp_path / "p.onnx"
    result = CliRunner().invoke(main, ["convert", str(tiny_model("gpt2")), "-o", str(out), "--op-profile", "portable", "--json"])
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["settings"]["op_profile"] == "portable"
    assert "com.microsoft::Tokenizer" in undocumented_ops(onnx.load(str(out)))


def test_an_unknown_profile_is_one_line_and_writes_nothing(tiny_model, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ConfigError, match="unknown op profile 'oracel'"):
        ONNXPipeline(tiny_model("bert-uncased"), ONNXPipelineConfig(op_profile="oracel"))
    result = CliRunner().invoke(main, ["convert", str(tiny_model("bert-uncased")), "-o", str(tmp_path / "x.onnx"), "--op-profile", "x"])
    assert result.exit_code == 2 and not list(tmp_path.iterdir())


@pytest.mark.parametrize(("family", "tokenizer"), [("bert-uncased", "bert-op"), ("gpt2", "gpt2-op"), ("xlmr", "sentencepiece-op")])
def test_op_stages_are_refused_in_the_portable_profile(tiny_model, tmp_path: Path, family: str, tokenizer: str) -> None:  # type: ignore[no-untyped-def]
    pipe = ONNXPipeline(tiny_model(family), ONNXPipelineConfig(tokenizer=tokenizer, op_profile="portable"))
    with pytest.raises(UnsupportedModelError, match="portable op profile excludes") as caught:
        pipe.export2file("refused", tmp_path)
    assert "\n" not in str(caught.value) and not list(tmp_path.iterdir())
