"""The file sink: atomic writes, name checks, and nothing half-written on any failure."""

from __future__ import annotations

import errno
import os
from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

from embedpipe import components
from embedpipe.errors import ConfigError, ExportError
from embedpipe_sinks.file import MAX_MODEL_BYTES, FileSink

BAD_NAMES = ["", "a/b", "a\\b", "..", ".", "x\0", ".hidden", "a b", "../up", "é", "trailing.", "n" * 201, None]


@pytest.fixture
def model() -> onnx.ModelProto:
    weights = numpy_helper.from_array(np.arange(4096, dtype=np.float32), "weights")
    graph = helper.make_graph(
        [helper.make_node("Add", ["x", "weights"], ["y"])],
        "tiny",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [4096])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [4096])],
        initializer=[weights],
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=8)


@pytest.fixture
def unwritable_dir(tmp_path: Path) -> Path:
    """A directory the sink cannot write: read-only, or (as root, who ignores modes) below a regular file."""
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o500)
    probe = locked / "probe"
    try:
        probe.touch()
    except PermissionError:
        return locked
    probe.unlink()
    (tmp_path / "afile").write_text("not a directory")
    return tmp_path / "afile" / "sub"


def files_below(directory: Path) -> list[str]:
    return sorted(str(p.relative_to(directory)) for p in directory.rglob("*"))


def test_writes_a_file_that_loads_back_equal(tmp_path: Path, model: onnx.ModelProto) -> None:
    written = FileSink().write(model, "e5_small", tmp_path)

    assert written == [tmp_path / "e5_small.onnx"]
    assert onnx.load(str(written[0])) == model
    assert files_below(tmp_path) == ["e5_small.onnx"]


def test_creates_the_output_dir_and_honours_the_umask(tmp_path: Path, model: onnx.ModelProto) -> None:
    umask = os.umask(0o022)
    os.umask(umask)

    (written,) = FileSink().write(model, "all-MiniLM-L6-v2.v1", str(tmp_path / "a" / "b"))

    assert written.is_file()
    assert written.stat().st_mode & 0o777 == 0o666 & ~umask


def test_replaces_an_existing_file(tmp_path: Path, model: onnx.ModelProto) -> None:
    (tmp_path / "m.onnx").write_bytes(b"old")

    FileSink().write(model, "m", tmp_path)

    assert (tmp_path / "m.onnx").read_bytes() == model.SerializeToString()
    assert files_below(tmp_path) == ["m.onnx"]


@pytest.mark.parametrize("name", BAD_NAMES)
def test_bad_names_are_export_errors(tmp_path: Path, model: onnx.ModelProto, name: str) -> None:
    with pytest.raises(ExportError, match="not a plain file name") as raised:
        FileSink().write(model, name, tmp_path)

    assert "\n" not in str(raised.value)
    assert files_below(tmp_path) == []


def test_unwritable_dir_is_an_export_error_and_leaves_nothing(
    tmp_path: Path, unwritable_dir: Path, model: onnx.ModelProto
) -> None:
    before = files_below(tmp_path)

    with pytest.raises(ExportError, match="cannot write") as raised:
        FileSink().write(model, "m", unwritable_dir)

    assert "\n" not in str(raised.value)
    assert files_below(tmp_path) == before


def test_output_dir_that_is_a_file_is_an_export_error(tmp_path: Path, model: onnx.ModelProto) -> None:
    (tmp_path / "taken").write_text("a file")

    with pytest.raises(ExportError, match="cannot write"):
        FileSink().write(model, "m", tmp_path / "taken")

    assert files_below(tmp_path) == ["taken"]


def test_failure_after_writing_leaves_the_old_file_and_no_temporary(
    tmp_path: Path, model: onnx.ModelProto, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "m.onnx").write_bytes(b"old")

    def disk_full(descriptor: int) -> None:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(os, "fsync", disk_full)

    with pytest.raises(ExportError, match="No space left"):
        FileSink().write(model, "m", tmp_path)

    assert files_below(tmp_path) == ["m.onnx"]
    assert (tmp_path / "m.onnx").read_bytes() == b"old"


def test_serialization_failure_leaves_no_partial_file(
    tmp_path: Path, model: onnx.ModelProto, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(self: onnx.ModelProto) -> bytes:
        raise RuntimeError("serializer crashed")

    monkeypatch.setattr(onnx.ModelProto, "SerializeToString", broken)

    with pytest.raises(RuntimeError, match="serializer crashed"):
        FileSink().write(model, "m", tmp_path)

    assert files_below(tmp_path) == []


def test_models_over_two_gigabytes_point_to_external_data(
    tmp_path: Path, model: onnx.ModelProto, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(onnx.ModelProto, "ByteSize", lambda self: MAX_MODEL_BYTES + 1)

    with pytest.raises(ExportError, match="external data"):
        FileSink().write(model, "big", tmp_path)

    assert files_below(tmp_path) == []


def test_unknown_options_are_config_errors(tmp_path: Path, model: onnx.ModelProto) -> None:
    with pytest.raises(ConfigError, match="use_external_data"):
        FileSink().write(model, "m", tmp_path, use_external_data=True)


def test_entry_point_registers_the_file_sink(installed_plugins) -> None:
    manager = installed_plugins("sinks", "embedpipe-sinks")

    assert manager.registry("sinks")["file"].plugin == "sinks"
    assert isinstance(manager.create("sinks", "file"), components.Sink)
