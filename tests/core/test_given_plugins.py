"""The plugin manager given to a pipeline is the one resolution uses, presets included (issue 14),
and config, plugins and hookspecs import in any order."""

from __future__ import annotations

import ast
import itertools
import subprocess
import sys
from pathlib import Path

import pytest

from embedpipe import ONNXPipeline, ONNXPipelineConfig, hookimpl
from embedpipe.config import resolve
from embedpipe.plugins import PluginManager
from embedpipe.source import load_source

ONLY_MINE = "my-org/only-in-my-manager"
GLOBAL_PRESET = "BAAI/bge-small-en-v1.5"  # registered by embedpipe-presets, which the given manager lacks
CORE = Path(__file__).resolve().parents[2] / "core" / "src" / "embedpipe"


class _MyPreset:
    """A preset only the given manager knows, and a prefix hook that reads the preset it is shown."""

    @hookimpl
    def embedpipe_register_presets(self, register):  # type: ignore[no-untyped-def]
        register(ONLY_MINE, {"distance_metrics": ["DOT"], "languages": ["xx"]})

    @hookimpl
    def embedpipe_text_prefix(self, source, config):  # type: ignore[no-untyped-def]
        return "xx: " if config.preset.get("languages") == ["xx"] else None


@pytest.fixture(scope="module")
def mine() -> PluginManager:
    manager = PluginManager()
    manager.load_entry_points(allowed=["embedpipe-tokenizers", "embedpipe-pooling", "embedpipe-postprocess"])
    manager.register(_MyPreset(), name="my-preset")
    return manager


def test_a_pipeline_resolves_presets_in_the_manager_it_is_given(minilm_dir: Path, mine: PluginManager) -> None:
    assert ONLY_MINE not in ONNXPipelineConfig.show_preconfigured()
    pipe = ONNXPipeline(minilm_dir, ONNXPipelineConfig(ONLY_MINE), plugins=mine)
    assert pipe.settings.distance_metrics == ("DOT",)
    assert pipe.settings.languages == ("xx",)
    assert pipe.settings.prefix == "xx: "  # the hooks see the given manager's preset too


def test_a_preset_only_the_global_manager_has_is_not_used(minilm_dir: Path, mine: PluginManager) -> None:
    installed = ONNXPipelineConfig.show_preconfigured(include_properties=True)
    assert GLOBAL_PRESET.lower() not in mine.registry("presets")
    config = ONNXPipelineConfig(GLOBAL_PRESET, max_seq_length=128)
    minilm = load_source(minilm_dir)
    assert resolve(config, minilm, plugins=mine).languages == ()
    assert resolve(config, minilm).languages == tuple(installed[GLOBAL_PRESET]["languages"])


@pytest.mark.parametrize("order", list(itertools.permutations(["embedpipe.config", "embedpipe.plugins", "embedpipe.hookspecs"])))
def test_config_plugins_and_hookspecs_import_in_any_order(order: tuple[str, ...]) -> None:
    code = "; ".join(f"import {module}" for module in order)
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]


def _runtime_imports(path: Path) -> set[str]:
    """The embedpipe modules ``path`` imports when it is imported (not in functions, not for type checkers)."""
    found = set()
    for node in ast.parse(path.read_text()).body:
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("embedpipe"):
            submodules = {f"{node.module}.{alias.name}" for alias in node.names if (CORE / f"{alias.name}.py").exists()}
            found |= submodules if node.module == "embedpipe" and submodules else {node.module}
        elif isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names if alias.name.startswith("embedpipe")}
    return found


def test_core_modules_import_each_other_without_a_cycle() -> None:
    modules = {"embedpipe" if p.stem == "__init__" else f"embedpipe.{p.stem}": p for p in CORE.glob("*.py")}
    graph = {name: _runtime_imports(path) & set(modules) for name, path in modules.items()}
    acyclic: set[str] = set()

    def visit(name: str, path: tuple[str, ...]) -> None:
        assert name not in path, f"import cycle: {' -> '.join((*path[path.index(name) :], name))}"
        if name not in acyclic:
            for imported in graph[name]:
                visit(imported, (*path, name))
            acyclic.add(name)

    for name in graph:
        visit(name, ())
