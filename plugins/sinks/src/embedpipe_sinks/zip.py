"""The ``zip`` sink: ``<output_dir>/<name>.zip`` holding the graph and, with external data, its data and description.

This is what OML4Py's ``export2file`` writes for a model with external data, and what
``ONNXPipeline.export2file`` uses for one. The files are laid out by the ``file`` sink in a
private staging folder beside the target, then stored (weights do not compress) under flat
names only, and the archive is renamed into place.
"""

from __future__ import annotations

import shutil
import tempfile
import zipfile
from pathlib import Path
from typing import Any

import onnx
from embedpipe.errors import ConfigError, ExportError

from embedpipe_sinks.atomic import atomic_file
from embedpipe_sinks.file import FileSink, check_name
from embedpipe_sinks.manifest_file import SUFFIX as MANIFEST_SUFFIX
from embedpipe_sinks.manifest_file import write_manifest

SUFFIX = ".zip"


class ZipSink:
    """Writes ``<name>.zip``; unzipped, its folder loads in ONNX Runtime and in ``DBMS_VECTOR.LOAD_ONNX_MODEL``."""

    def write(
        self, model: onnx.ModelProto, name: str, output_dir: Path, weights_dir: Path | None = None, **options: Any
    ) -> list[Path]:
        if options:
            raise ConfigError(f"the zip sink takes no options but weights_dir, got {sorted(options)}")
        check_name(name)
        target = Path(output_dir) / f"{name}{SUFFIX}"
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            staging = Path(tempfile.mkdtemp(prefix=f".{name}.", dir=target.parent))
            try:
                files = FileSink().write(model, name, staging, weights_dir=weights_dir)
                with atomic_file(target) as handle, zipfile.ZipFile(handle, "w", zipfile.ZIP_STORED, allowZip64=True) as archive:
                    for file in files:
                        if not file.name.endswith(MANIFEST_SUFFIX):
                            archive.write(file, arcname=file.name)
                write_manifest(model, target.parent, name)
            finally:
                shutil.rmtree(staging, ignore_errors=True)
        except OSError as exc:
            raise ExportError(
                f"cannot write {target} ({exc.strerror or exc})", "choose a writable output_dir with free space"
            ) from exc
        return [target]
