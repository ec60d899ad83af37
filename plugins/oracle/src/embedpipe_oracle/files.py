"""A model on disk: one self-contained ``.onnx``, or (26ai) an ``.onnx`` with external data.

An external-data export is laid out as ``embedpipe.weights.ExternalDataLayout`` says (the one
definition the sinks write): ``<name>.onnx`` referencing ``<name>.dat``, plus
``<name>.onnx_external_data.json`` describing each initializer. Oracle loads it only from a
server directory object; the description's name is passed as ``external_data_file_name`` too.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import onnx
from embedpipe.errors import ConfigError
from embedpipe.weights import ExternalDataLayout
from onnx.external_data_helper import ExternalDataInfo, uses_external_data

from embedpipe_oracle.errors import OracleSinkError


@dataclass(frozen=True)
class ModelFiles:
    """The files a DBA copies to the server; ``description`` is set only for external data."""

    model: Path
    data: tuple[Path, ...] = ()
    description: Path | None = None

    @property
    def external(self) -> bool:
        return self.description is not None

    @property
    def all(self) -> tuple[Path, ...]:
        return (self.model, *self.data, *([self.description] if self.description else []))


def model_files(path: Path) -> ModelFiles:
    """The file set of ``path``; an external-data set must be complete beside it."""
    path = Path(path)
    if path.suffix == ".zip":
        inside = ExternalDataLayout.named(path.stem)
        raise ConfigError(
            f"{path} is a zip of an external-data export",
            f"unzip it and pass the {inside.graph} inside (its {inside.data} and {inside.description} stay beside it)",
        )
    if path.suffix != ".onnx" or not path.is_file():
        raise ConfigError(f"{path} is not an .onnx file", "pass the .onnx file embedpipe wrote")
    layout = ExternalDataLayout(path.name)
    description = path.parent / layout.description
    if not description.exists() and not (path.parent / layout.data).exists():
        return ModelFiles(path)
    locations = _external_locations(path)
    if not locations:
        return ModelFiles(path)
    missing = [name for name in [*locations, description.name] if not (path.parent / name).is_file()]
    if missing:
        raise ConfigError(
            f"{path.name} uses external data but {', '.join(missing)} is missing beside it",
            "keep every file of an external-data export together (unzip the whole export)",
        )
    return ModelFiles(path, tuple(path.parent / name for name in locations), description)


def _external_locations(path: Path) -> list[str]:
    try:
        model = onnx.load(str(path), load_external_data=False)
    except Exception as exc:  # protobuf raises DecodeError and others
        raise OracleSinkError(
            f"{path} is not an ONNX model ({type(exc).__name__})", "pass a .onnx file embedpipe produced"
        ) from exc
    tensors = [t for t in model.graph.initializer if uses_external_data(t)]
    return sorted({ExternalDataInfo(t).location for t in tensors})
