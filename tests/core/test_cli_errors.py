"""Bad input on the CLI: one line naming the problem and the fix, exit code 2, nothing half-written."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner
from embedpipe.cli import main


@pytest.fixture
def tiny_bert(tiny_model) -> Path:  # type: ignore[no-untyped-def]
    """A tiny BERT: every error here is about the input, not about a real model's weights."""
    return tiny_model("bert-uncased")


@pytest.fixture
def bad_model(tiny_bert: Path, tmp_path: Path) -> Callable[[Callable[[Path], None]], Path]:
    """A copy of the tiny BERT with one defect applied."""

    def make(defect: Callable[[Path], None]) -> Path:
        target = tmp_path / "model"
        shutil.copytree(tiny_bert, target)
        defect(target)
        return target

    return make


def _edit_json(path: Path, **changes: object) -> None:
    data = json.loads(path.read_text())
    data.update(changes)
    path.write_text(json.dumps(data))


def _unigram_tokenizer(folder: Path) -> None:
    (folder / "tokenizer.json").write_text(json.dumps({"version": "1.0", "model": {"type": "Unigram", "vocab": [["<unk>", 0.0]]}}))
    (folder / "vocab.txt").unlink(missing_ok=True)
    _edit_json(folder / "tokenizer_config.json", tokenizer_class="FancyTokenizer")


def _truncate_weights(folder: Path) -> None:
    weights = folder / "model.safetensors"
    weights.write_bytes(weights.read_bytes()[:1000])


CASES = {
    "missing folder": (lambda d: shutil.rmtree(d), [], "does not exist"),
    "empty folder": (lambda d: [p.unlink() if p.is_file() else shutil.rmtree(p) for p in d.iterdir()], [], "is empty"),
    "no tokenizer": (lambda d: [(d / n).unlink(missing_ok=True) for n in ("tokenizer.json", "vocab.txt")], [], "no tokenizer files"),
    "unsupported tokenizer": (_unigram_tokenizer, [], "no installed tokenizer plugin supports FancyTokenizer"),
    "unsupported model type": (lambda d: _edit_json(d / "config.json", model_type="no-such-arch"), [], "no-such-arch"),
    "corrupt weights": (_truncate_weights, [], "corrupt or truncated"),
    "unknown pooling": (lambda d: None, ["--pooling", "nope"], "no pooler named 'nope'"),
    "impossible max_seq_length": (lambda d: None, ["--max-seq-length", "100000"], "max_seq_length 100000"),
    "zero max_seq_length": (lambda d: None, ["--max-seq-length", "0"], "max_seq_length 0 is impossible"),
}


@pytest.mark.parametrize("case", CASES)
def test_bad_model_input(case: str, bad_model, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    defect, extra, message = CASES[case]
    folder = bad_model(defect)
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    result = CliRunner().invoke(main, ["convert", str(folder), "-o", str(out_dir / "m.onnx"), *extra])
    _assert_one_line_error(result, message)
    assert list(out_dir.iterdir()) == []


@pytest.mark.parametrize(
    ("output", "message"),
    [("bad name?.onnx", "is not a plain file name"), ("model.txt", "does not end in .onnx"), (".hidden.onnx", "not a plain file name")],
)
def test_bad_output_name(tiny_bert: Path, tmp_path: Path, output: str, message: str) -> None:
    result = CliRunner().invoke(main, ["convert", str(tiny_bert), "-o", str(tmp_path / output)])
    _assert_one_line_error(result, message)
    assert list(tmp_path.iterdir()) == []


def test_unwritable_output_directory(tiny_bert: Path, tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    result = CliRunner().invoke(main, ["convert", str(tiny_bert), "-o", str(blocker / "sub" / "m.onnx"), "--no-validate"])
    _assert_one_line_error(result, "choose a writable output_dir")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a-file"]


def test_inspect_of_a_non_onnx_file(tmp_path: Path) -> None:
    junk = tmp_path / "junk.onnx"
    junk.write_bytes(b"\x00\xffnot protobuf at all" * 10)
    result = CliRunner().invoke(main, ["inspect", str(junk)])
    _assert_one_line_error(result, "is not an ONNX model")


def _assert_one_line_error(result, message: str) -> None:  # type: ignore[no-untyped-def]
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert result.exit_code == 2, (result.exit_code, result.stderr, result.exception)
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    assert message in lines[0]
    assert "Traceback" not in result.output


def test_api_raises_typed_errors_before_any_work(tiny_bert: Path, tmp_path: Path) -> None:
    from embedpipe import ConfigError, ModelSourceError, ONNXPipeline, ONNXPipelineConfig

    with pytest.raises(ModelSourceError):
        ONNXPipeline(tmp_path / "missing")
    with pytest.raises(ConfigError, match="no pooler named 'nope'"):
        ONNXPipeline(tiny_bert, ONNXPipelineConfig(pooling="nope"))
    pipe = ONNXPipeline(tiny_bert)
    with pytest.raises(ConfigError, match="not a plain file name"):
        pipe.export2file("../escape", tmp_path)
    assert list(tmp_path.iterdir()) == [] and pipe._model is None


def test_an_unknown_quantizer_option_fails_before_building(tiny_bert: Path, tmp_path: Path) -> None:
    args = ["convert", str(tiny_bert), "-o", str(tmp_path / "m.onnx"), "--quantize", "int8", "--quantize-option", "weight_type=int4"]
    result = CliRunner().invoke(main, args)
    _assert_one_line_error(result, "INT8 weight_type 'int4' is unknown")
    assert list(tmp_path.iterdir()) == []
