"""The build manifest and reproducible builds: what went in is recorded, and equal inputs give equal bytes."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import onnx
from click.testing import CliRunner
from embedpipe import ONNXPipeline, ONNXPipelineConfig
from embedpipe.cli import main
from embedpipe.contract import MANIFEST_KEY

from tests.conftest import Convert


def _export(folder: Path, out: Path) -> Path:
    return ONNXPipeline(folder, ONNXPipelineConfig()).export2file("tiny", out)


def test_manifest_records_inputs_versions_configuration_and_validation(tiny_model, converted: Convert) -> None:  # type: ignore[no-untyped-def]
    folder = tiny_model("bert-uncased")
    _, path = converted(folder)
    beside = json.loads(path.with_name(f"{path.stem}.manifest.json").read_text(encoding="utf-8"))
    inside = json.loads({p.key: p.value for p in onnx.load(str(path)).metadata_props}[MANIFEST_KEY])
    assert beside == inside
    files = {p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest() for p in folder.rglob("*") if p.is_file()}
    assert inside["source"]["files"] == files and "model.safetensors" in files
    assert inside["plugins"]["embedpipe-tokenizers"] == "0.1.0" and inside["embedpipe"] == "0.1.0"
    assert inside["libraries"]["torch"].startswith("2.13.0")
    assert inside["configuration"]["tokenizer"] == "wordpiece" and inside["configuration"]["opset"] == 17
    assert inside["validation"]["ok"] is True and inside["validation"]["min_cosine_outside_declared"] >= 0.9999


def test_two_exports_of_the_same_inputs_are_byte_identical(tiny_model, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    folder = tiny_model("mpnet")
    first = _export(folder, tmp_path / "a").read_bytes()
    second = _export(folder, tmp_path / "b").read_bytes()
    assert hashlib.sha256(first).hexdigest() == hashlib.sha256(second).hexdigest()


def test_a_changed_input_file_changes_the_manifest(tiny_model, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    import shutil

    folder = shutil.copytree(tiny_model("bert-uncased"), tmp_path / "model")
    before = _manifest(_export(folder, tmp_path / "a"))
    (folder / "README.md").write_text("changed", encoding="utf-8")
    after = _manifest(_export(folder, tmp_path / "b"))
    assert before["source"]["folder_sha256"] != after["source"]["folder_sha256"]
    assert before["source"]["files"]["README.md"] != after["source"]["files"]["README.md"]


def _manifest(path: Path) -> dict:
    return json.loads({p.key: p.value for p in onnx.load(str(path)).metadata_props}[MANIFEST_KEY])


def test_inspect_shows_the_manifest(tiny_model, converted: Convert) -> None:  # type: ignore[no-untyped-def]
    _, path = converted(tiny_model("bert-uncased"))
    result = CliRunner().invoke(main, ["inspect", str(path), "--json"])
    assert result.exit_code == 0, result.stderr
    info = json.loads(result.stdout)
    assert info["manifest"]["source"]["model"] == str(tiny_model("bert-uncased"))
    text = CliRunner().invoke(main, ["inspect", str(path)]).stdout
    assert "manifest" in text and "folder_sha256" in text
