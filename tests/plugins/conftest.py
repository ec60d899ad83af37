"""Helpers shared by the first-party plugin tests: run a float stage, load the installed plugins."""

from __future__ import annotations

import importlib.metadata
from collections.abc import Callable

import numpy as np
import onnx
import onnxruntime as ort
import pytest

from embedpipe import contract
from embedpipe.plugins import LOAD_ENV, PluginManager


@pytest.fixture
def run_stage() -> Callable[..., np.ndarray]:
    """Run a float-in, float-out stage in plain ONNX Runtime and return its only output."""

    def run(model: onnx.ModelProto, **feeds: np.ndarray) -> np.ndarray:
        assert model.ir_version == contract.DEFAULT_IR_VERSION
        session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
        (output,) = session.run(None, feeds)
        return output

    return run


@pytest.fixture
def installed_plugins(monkeypatch: pytest.MonkeyPatch) -> Callable[[str, str], PluginManager]:
    """Check that ``entry_point`` is published by ``distribution`` and load every plugin the normal way."""

    def load(entry_point: str, distribution: str) -> PluginManager:
        published = {ep.name: ep for ep in importlib.metadata.entry_points(group="embedpipe")}
        assert entry_point in published, f"no embedpipe entry point {entry_point!r}; is {distribution} installed?"
        assert published[entry_point].dist is not None
        assert published[entry_point].dist.name == distribution
        monkeypatch.delenv(LOAD_ENV, raising=False)
        manager = PluginManager()
        manager.load_entry_points()
        assert entry_point not in [failure.name for failure in manager.failures]
        return manager

    return load
