"""The ``file`` sink: ``<output_dir>/<name>.onnx``, written so no reader ever sees half a model.

A graph with external data is written in Oracle 26ai's layout instead
(``embedpipe.weights.ExternalDataLayout``): ``<name>.onnx``, ``<name>.dat`` and
``<name>.onnx_external_data.json`` side by side (what a database directory object is loaded
from); the ``zip`` sink packs the same three files into one archive.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import onnx
from embedpipe.errors import ConfigError, ExportError
from embedpipe.naming import check_export_name
from onnx.external_data_helper import uses_external_data

from embedpipe_sinks.atomic import atomic_file
from embedpipe_sinks.external import write_layout
from embedpipe_sinks.manifest_file import write_manifest

SUFFIX = ".onnx"
# One protobuf message cannot exceed this; larger models need their weights in external data.
MAX_MODEL_BYTES = onnx.checker.MAXIMUM_PROTOBUF


class FileSink:
    """Writes one self-contained ``.onnx`` file, or the external-data layout when the graph has external tensors."""

    def write(
        self, model: onnx.ModelProto, name: str, output_dir: Path, weights_dir: Path | None = None, **options: Any
    ) -> list[Path]:
        """``weights_dir``: the folder the graph's external tensors live in (the pipeline passes it)."""
        if options:
            raise ConfigError(f"the file sink takes no options but weights_dir, got {sorted(options)}")
        check_name(name)
        external = has_external_tensors(model)
        if external and weights_dir is None:
            raise ExportError("the graph references external data but no weights_dir was given", "export it through ONNXPipeline")
        size = model.ByteSize()
        if size > MAX_MODEL_BYTES:
            raise ExportError(
                f"the model is {size / 2**30:.2f} GiB, over the 2 GiB a single .onnx file can hold",
                "export it with external data (use_external_data=True) instead of the file sink",
            )
        target_dir = Path(output_dir)
        try:
            target_dir.mkdir(parents=True, exist_ok=True)
            if external:
                return write_layout(model, Path(weights_dir), name, target_dir) + write_manifest(model, target_dir, name)  # type: ignore[arg-type]
            target = target_dir / f"{name}{SUFFIX}"
            with atomic_file(target) as handle:
                handle.write(model.SerializeToString())
            return [target, *write_manifest(model, target_dir, name)]
        except OSError as exc:
            raise ExportError(
                f"cannot write into {target_dir} ({exc.strerror or exc})", "choose a writable output_dir with free space"
            ) from exc


def has_external_tensors(model: onnx.ModelProto) -> bool:
    return any(uses_external_data(t) for t in model.graph.initializer)


def check_name(name: str) -> None:
    """The core's export-name rule (no path parts, no leading dot), reported as the sink's ExportError.

    The pipeline checks names before converting; a sink called directly must not trust its caller.
    """
    try:
        check_export_name(name)
    except ConfigError as exc:
        raise ExportError(exc.problem, exc.fix) from exc
