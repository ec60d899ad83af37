"""Start-up stays light: importing embedpipe, loading every plugin and the commands that convert
nothing never import torch, transformers, sentence-transformers or onnxruntime (issue 14).

Each check runs in a fresh interpreter, since this test process has long imported them all.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import onnx
import pytest
from onnx import TensorProto, helper

HEAVY = ("torch", "transformers", "sentence_transformers", "onnxruntime")
# Runs a snippet, then reports the heavy libraries it imported as the last line of stderr.
REPORT = (
    "\nimport sys, json\nsys.stderr.write('HEAVY=' + json.dumps(sorted({{n.split('.')[0] for n in sys.modules}} & {heavy})))\n"
)


def _heavy_imports(snippet: str) -> list[str]:
    code = snippet + REPORT.format(heavy=set(HEAVY))
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False, timeout=300)
    lines = done.stderr.strip().splitlines()
    assert done.returncode == 0 and lines and lines[-1].startswith("HEAVY="), done.stderr[-3000:]
    return json.loads(lines[-1].removeprefix("HEAVY="))


def test_importing_embedpipe_and_loading_every_entry_point_imports_no_heavy_library() -> None:
    snippet = """
import importlib.metadata
import embedpipe
from embedpipe.plugins import KINDS, PluginManager

for entry_point in importlib.metadata.entry_points(group="embedpipe"):
    entry_point.load()
manager = PluginManager()
manager.load_entry_points(strict=True)
for kind in KINDS:
    manager.registry(kind)
manager.presets()
"""
    assert _heavy_imports(snippet) == []


def _tiny_graph(folder: Path) -> Path:
    graph = helper.make_graph(
        [helper.make_node("Identity", ["x"], ["y"])],
        "tiny",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1])],
    )
    path = folder / "tiny.onnx"
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=8), str(path))
    return path


@pytest.mark.parametrize("args", [["--help"], ["plugins"], ["templates"], ["presets"], ["inspect"]], ids=lambda a: a[0])
def test_commands_that_convert_nothing_import_no_heavy_library(args: list[str], tmp_path: Path) -> None:
    if args == ["inspect"]:
        args = ["inspect", str(_tiny_graph(tmp_path))]
    snippet = f"""
from embedpipe.cli import main

code = main.main(args={args!r}, standalone_mode=False)
assert not code, code
"""
    assert _heavy_imports(snippet) == []
