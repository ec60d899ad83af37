"""The ``file`` sink: ``<output_dir>/<name>.onnx``, written so no reader ever sees half a model."""

from __future__ import annotations

import contextlib
import os
import secrets
from pathlib import Path
from typing import Any

import onnx

from embedpipe.errors import ConfigError, ExportError
from embedpipe.naming import check_export_name

SUFFIX = ".onnx"
# One protobuf message cannot exceed this; larger models need their weights in external data.
MAX_MODEL_BYTES = onnx.checker.MAXIMUM_PROTOBUF


class FileSink:
    """Writes one self-contained ``.onnx`` file; models over 2 GB belong to an external-data sink."""

    def write(self, model: onnx.ModelProto, name: str, output_dir: Path, **options: Any) -> list[Path]:
        if options:
            raise ConfigError(f"the file sink takes no options, got {sorted(options)}")
        check_name(name)
        size = model.ByteSize()
        if size > MAX_MODEL_BYTES:
            raise ExportError(
                f"the model is {size / 2**30:.2f} GiB, over the 2 GiB a single .onnx file can hold",
                "export it with external data (use_external_data=True) instead of the file sink",
            )
        target = Path(output_dir) / f"{name}{SUFFIX}"
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            _write_atomically(model, target)
        except OSError as exc:
            raise ExportError(
                f"cannot write {target} ({exc.strerror or exc})", "choose a writable output_dir with free space"
            ) from exc
        return [target]


def check_name(name: str) -> None:
    """The core's export-name rule (no path parts, no leading dot), reported as the sink's ExportError.

    The pipeline checks names before converting; a sink called directly must not trust its caller.
    """
    try:
        check_export_name(name)
    except ConfigError as exc:
        raise ExportError(exc.problem, exc.fix) from exc


def _write_atomically(model: onnx.ModelProto, target: Path) -> None:
    """Serialize beside ``target``, fsync, then rename over it; on any failure remove the temporary file.

    The temporary file is opened with mode 0o666 so the umask, not a private 0o600, decides who may
    read the result (the database's OS user often must).
    """
    temporary = target.with_name(f".{target.name}.{secrets.token_hex(8)}.tmp")
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
    descriptor = os.open(temporary, flags, 0o666)
    try:
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(model.SerializeToString())
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)
        raise
    _fsync_directory(target.parent)


def _fsync_directory(directory: Path) -> None:
    """Make the rename itself durable; Windows cannot open a directory, and NTFS journals renames."""
    if os.name != "posix":
        return
    descriptor = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)
