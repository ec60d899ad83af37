"""The command line on a real conversion: convert, inspect, embed, validate and the listings."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from click.testing import CliRunner

from embedpipe.cli import main


def _json(args: list[str]) -> object:
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, (result.stderr, result.exception)
    return json.loads(result.stdout)


def test_convert_writes_the_graph_and_reports_parity(tiny_model, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    out = tmp_path / "tiny.onnx"
    report = _json(["convert", str(tiny_model("bert-uncased")), "-o", str(out), "--max-seq-length", "48", "--json"])
    assert out.is_file() and report["output"] == str(out)
    assert report["settings"]["max_seq_length"] == 48 and report["settings"]["tokenizer"] == "wordpiece"
    assert report["settings"]["post_processors"] == [{"name": "Pooling", "type": "mean"}, {"name": "normalize"}]
    assert report["validation"]["ok"] and report["validation"]["min_cosine_outside_declared"] >= 0.9999
    assert report["dimension"] == 32 and len(report["sample"]["vector_head"]) == 8


def test_convert_text_output_has_summary_and_sample(tiny_model, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    result = CliRunner().invoke(main, ["convert", str(tiny_model("bert-uncased")), "-o", str(tmp_path / "t.onnx")])
    assert result.exit_code == 0, result.stderr
    assert "parity vs sentence-transformers: PASS" in result.stdout
    assert "'hello world' -> [" in result.stdout


def test_inspect_shows_contract_and_op_rule(minilm_export) -> None:  # type: ignore[no-untyped-def]
    _, path = minilm_export
    info = _json(["inspect", str(path), "--json"])
    assert info["inputs"] == [{"name": "input", "type": "string", "shape": [1]}]
    assert info["outputs"] == [{"name": "embedding", "type": "float32", "shape": [1, 384]}]
    assert info["opsets"]["ai.onnx"] == 17 and info["ir_version"] == 8
    assert info["oracle_op_rule"] == "ok"
    # The default oracle profile: no com.microsoft op; the exact tokenizer's only extension op splits the text.
    assert info["op_profile"] == info["fits_profile"] == "oracle" and info["undocumented_in_oracle"] == []
    assert [op for op in info["ops"] if not op.startswith(("ai.onnx:", "ai.onnx.ml:"))] == ["ai.onnx.contrib:GPT2Tokenizer"]
    assert json.loads(info["metadata"]["embedpipe.settings"])["max_seq_length"] == 256


def test_embed_gives_the_reference_vectors(minilm_export, minilm_reference) -> None:  # type: ignore[no-untyped-def]
    _, path = minilm_export
    texts = ["Ünïcödé ÇAPITALS", "北京"]
    rows = _json(["embed", str(path), *texts, "--json"])
    got = np.array([row["embedding"] for row in rows])
    want = minilm_reference.encode(texts)
    np.testing.assert_allclose(got, want, atol=1e-4)


def test_validate_command_uses_the_settings_stored_in_the_graph(minilm_export, minilm_dir: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    _, path = minilm_export
    corpus = tmp_path / "lines.txt"
    corpus.write_text("first line\nzweite Zeile mit Umlauten äöü\nтретья строка\n", encoding="utf-8")
    report = _json(["validate", str(path), "--reference", str(minilm_dir), "--corpus", str(corpus), "--json"])
    assert report["ok"] and report["lines"] == 3 and report["min_cosine"] >= 0.9999


def test_validate_fails_with_exit_1_against_the_wrong_reference(tiny_model, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from embedpipe import ONNXPipeline, ONNXPipelineConfig

    path = ONNXPipeline(tiny_model("bert-uncased"), ONNXPipelineConfig(validate=False)).export2file("uncased", tmp_path)
    result = CliRunner().invoke(main, ["validate", str(path), "--reference", str(tiny_model("bert-cased")), "--json"])
    assert result.exit_code == 1, result.stderr
    report = json.loads(result.stdout)
    assert not report["ok"] and report["min_cosine"] < 0.99


def test_validate_against_a_model_with_fewer_positions_is_a_clear_error(minilm_export, tiny_model) -> None:  # type: ignore[no-untyped-def]
    _, path = minilm_export
    result = CliRunner().invoke(main, ["validate", str(path), "--reference", str(tiny_model("bert-uncased"))])
    assert result.exit_code == 2
    assert "max_seq_length 256 exceeds the 130 positions" in result.stderr


def test_listings() -> None:
    plugins = _json(["plugins", "--json"])
    dists = {p["distribution"] for p in plugins["plugins"]}
    assert {"embedpipe-tokenizers", "embedpipe-pooling", "embedpipe-postprocess", "embedpipe-sinks"} <= dists
    assert all(p["version"] for p in plugins["plugins"])
    presets = _json(["presets", "--json"])
    assert presets["sentence-transformers/all-MiniLM-L6-v2"]["max_seq_length"] == 256
    assert _json(["templates", "--json"]) == {"text": {"pooling": "mean", "normalize": True}}


def test_tokens_command_reports_mismatches_per_class(minilm_dir: Path, tmp_path: Path) -> None:
    corpus = tmp_path / "lines.txt"
    corpus.write_text("plain ascii words\nnaïve café\nՀայաստան ԵՐԵՎԱՆ\nrésumé\n", encoding="utf-8")
    exact = _json(["tokens", str(minilm_dir), "--corpus", str(corpus), "--json"])
    assert exact["tokenizer"] == "wordpiece" and exact["classes"]["all"]["mismatches"] == 0
    op = _json(["tokens", str(minilm_dir), "--tokenizer", "bert-op", "--corpus", str(corpus), "--json"])
    assert op["classes"]["ascii"]["mismatches"] == 0
    assert op["classes"]["armenian"]["mismatches"] == 1  # the op leaves Armenian capitals upper-case


def test_plugin_commands_join_the_group_and_report_errors_in_one_line(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    import click

    from embedpipe import hookimpl, plugins
    from embedpipe.errors import ConfigError

    @click.command()
    @click.argument("word")
    def shout(word: str) -> None:
        """Say WORD loudly, or refuse 'quiet'."""
        if word == "quiet":
            raise ConfigError("'quiet' cannot be shouted", "pass another word")
        click.echo(word.upper())

    class ShoutPlugin:
        @hookimpl
        def embedpipe_register_commands(self, register) -> None:  # type: ignore[no-untyped-def]
            register("shout", shout)

    manager = plugins.PluginManager()
    manager.register(ShoutPlugin(), name="shout-plugin")
    monkeypatch.setattr(plugins, "_default", manager)
    monkeypatch.setattr(main, "_from_plugins", None)
    assert "shout" in CliRunner().invoke(main, ["--help"]).stdout
    loud = CliRunner().invoke(main, ["shout", "hello"])
    assert loud.exit_code == 0 and loud.stdout == "HELLO\n"
    refused = CliRunner().invoke(main, ["shout", "quiet"])
    assert refused.exit_code == 2
    assert refused.stderr.strip() == "error: 'quiet' cannot be shouted; pass another word"
