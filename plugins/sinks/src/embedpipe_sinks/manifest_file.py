"""The build manifest beside the written model, ``<name>.manifest.json``, when the graph carries one."""

from __future__ import annotations

import json
from pathlib import Path

import onnx
from embedpipe import manifest

from embedpipe_sinks.atomic import atomic_file

SUFFIX = ".manifest.json"


def write_manifest(model: onnx.ModelProto, target_dir: Path, name: str) -> list[Path]:
    """Write the manifest the pipeline attached (none for a graph made without one); the paths written."""
    found = manifest.read(model)
    if found is None:
        return []
    target = target_dir / f"{name}{SUFFIX}"
    with atomic_file(target) as handle:
        handle.write(json.dumps(found, indent=2, sort_keys=True, ensure_ascii=False).encode("utf-8"))
    return [target]
