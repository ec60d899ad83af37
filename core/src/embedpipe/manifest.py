"""The build manifest: exactly what went into a graph, so an export can be audited and rebuilt.

It holds no time stamps and no host names: two exports of the same inputs carry the same manifest,
which keeps the .onnx files byte-identical (reproducible builds).
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import json
import re
from pathlib import Path
from typing import Any

import onnx

from embedpipe.contract import MANIFEST_KEY
from embedpipe.plugins import PluginManager
from embedpipe.source import ModelSource

FORMAT = 1
# The libraries whose versions decide the graph's bytes or the reference it was checked against.
LIBRARIES = ("torch", "transformers", "sentence-transformers", "tokenizers", "onnx", "onnxruntime", "onnxruntime-extensions")
_SNAPSHOT = re.compile(r"snapshots/([0-9a-f]{40})(/|$)")
_CHUNK = 1 << 20


def file_digests(folder: Path) -> dict[str, str]:
    """sha256 of every file in the model folder, by path relative to it (hidden files left out)."""
    digests = {}
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        relative = path.relative_to(folder).as_posix()
        if not any(part.startswith(".") for part in relative.split("/")):
            digests[relative] = _sha256(path)
    return digests


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def folder_digest(digests: dict[str, str]) -> str:
    """One sha256 over the folder's (path, sha256) pairs: equal folders, equal digest."""
    return hashlib.sha256("".join(f"{path}\0{sha}\n" for path, sha in sorted(digests.items())).encode()).hexdigest()


def _version(distribution: str) -> str | None:
    try:
        return importlib.metadata.version(distribution)
    except importlib.metadata.PackageNotFoundError:
        return None


def build_manifest(
    source: ModelSource,
    configuration: dict[str, Any],
    *,
    plugins: PluginManager,
    validation: dict[str, Any] | None,
) -> dict[str, Any]:
    """The manifest of one export: source and its files, versions, resolved configuration, validation."""
    digests = file_digests(source.path)
    commit = _SNAPSHOT.search(source.path.resolve().as_posix())
    return {
        "format": FORMAT,
        "source": {
            "model": source.name,
            "revision": source.revision,
            "commit": commit.group(1) if commit else None,
            "folder_sha256": folder_digest(digests),
            "files": digests,
        },
        "embedpipe": _version("embedpipe-core"),
        "plugins": {info.distribution: info.version for info in plugins.plugins()},
        "libraries": {name: _version(name) for name in LIBRARIES},
        "configuration": configuration,
        "validation": _stable(validation),
    }


def _stable(validation: dict[str, Any] | None) -> dict[str, Any] | None:
    """The validation summary with figures rounded, so float noise in the last bits cannot change the bytes."""
    if validation is None:
        return None
    keep = ("ok", "lines", "threshold", "below_threshold", "forgiven_by_declared_limitation")
    summary = {key: validation[key] for key in keep if key in validation}
    for key in ("min_cosine", "min_cosine_outside_declared", "mean_cosine"):
        if validation.get(key) is not None:
            summary[key] = round(float(validation[key]), 6)
    summary["errors"] = len(validation.get("errors", []))
    return summary


def attach(model: onnx.ModelProto, manifest: dict[str, Any]) -> None:
    """Store the manifest in the model's metadata_props (replacing an earlier one)."""
    props = {p.key: p.value for p in model.metadata_props}
    props[MANIFEST_KEY] = json.dumps(manifest, sort_keys=True, ensure_ascii=False)
    onnx.helper.set_model_props(model, props)


def read(model: onnx.ModelProto) -> dict[str, Any] | None:
    """The manifest a produced graph carries, or None for graphs made before manifests existed."""
    for prop in model.metadata_props:
        if prop.key == MANIFEST_KEY:
            return json.loads(prop.value)
    return None


def recorded_op_profile(model: onnx.ModelProto) -> str | None:
    """The op profile the graph was built for, from its manifest (None: no manifest, or built before profiles)."""
    return ((read(model) or {}).get("configuration") or {}).get("op_profile")
