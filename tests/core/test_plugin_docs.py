"""docs/plugins.md is enough to write a plugin from, and its example plugins work as printed.

In the style of datasette's documentation tests: every hook (with its arguments) and every public
name of the stage toolkit must appear in the guide; the guide's example plugins (the code blocks
whose first line is ``# file: <package>/<path>``) are written out, built and installed with pip,
found through their entry points in a fresh process, and used to convert a tiny model into a
batched graph that is run on strings of different lengths (so on padded chunks) and compared with
a numpy computation of what the guide says the examples compute.
"""

from __future__ import annotations

import inspect
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from sentence_transformers import SentenceTransformer

from embedpipe import contract, hookspecs, stagekit
from embedpipe.runtime import open_session

GUIDE = Path(__file__).parents[2] / "docs" / "plugins.md"
FILE_BLOCK = re.compile(r"```(?:toml|python)\n# file: (\S+)\n(.*?)```", re.DOTALL)
EXAMPLES = ("embedpipe-min-pooling", "embedpipe-signed-power")
POWER = 0.5
# Lengths from 2 to about 40 tokens, so every chunk of the batched graph holds padded rows.
TEXTS = ["", "a", "short text", "a rather longer sentence, with punctuation and several words in it", "x y z " * 10]

# Runs with the installed examples on the path: the core finds them through their entry points only.
CONVERT = """
import sys
from embedpipe import ONNXPipeline, ONNXPipelineConfig

folder, output, power = sys.argv[1:4]
config = ONNXPipelineConfig(
    pooling="min",
    post_processors=[{"name": "signed_power", "power": float(power)}, {"name": "Normalize"}],
    batch=True,
)
pipe = ONNXPipeline(folder, config)
assert type(pipe.components.pooler).__module__ == "embedpipe_min_pooling.pooler", pipe.components.pooler
assert type(pipe.components.post_processors[0]).__module__ == "embedpipe_signed_power.postprocessor"
print(pipe.export2file("examples", output))
assert pipe.report.ok, pipe.report.summary()
"""


def _guide() -> str:
    return GUIDE.read_text(encoding="utf-8")


def test_every_hook_is_documented_with_its_arguments() -> None:
    specs = {name: hook for name, hook in vars(hookspecs).items() if name.startswith(f"{hookspecs.PROJECT}_")}
    signatures = [f"{name}({', '.join(inspect.signature(hook).parameters)})" for name, hook in specs.items()]

    assert specs
    assert [s for s in signatures if s not in _guide()] == []


def test_every_public_toolkit_name_is_documented() -> None:
    assert [name for name in stagekit.__all__ if f"`{name}" not in _guide()] == []


def test_the_examples_are_complete_packages() -> None:
    files = dict(FILE_BLOCK.findall(_guide()))

    for package in EXAMPLES:
        pyproject = files[f"{package}/pyproject.toml"]
        assert "[build-system]" in pyproject and "[project.entry-points.embedpipe]" in pyproject
        assert any(path.startswith(f"{package}/src/") for path in files)


@pytest.fixture(scope="module")
def installed_examples(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The guide's example packages, written out and pip-installed into a folder of their own."""
    root = tmp_path_factory.mktemp("guide_examples")
    for path, text in FILE_BLOCK.findall(_guide()):
        target = root / "packages" / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")
    site = root / "site"
    for package in EXAMPLES:
        subprocess.run(
            [sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--no-build-isolation", "--no-index",
             "--target", str(site), str(root / "packages" / package)],
            check=True,
        )
    return site


@pytest.mark.parametrize("opset", [contract.DEFAULT_OPSET, contract.MAX_OPSET])
def test_example_pooler_pools_each_row_and_gives_zeros_for_an_empty_mask(
    installed_examples: Path, monkeypatch: pytest.MonkeyPatch, opset: int
) -> None:
    monkeypatch.syspath_prepend(str(installed_examples))
    from embedpipe_min_pooling.pooler import MinPooler

    mask = np.array([[1, 1, 1, 1, 1], [1, 1, 0, 0, 0], [0, 0, 0, 0, 0]], dtype=np.int64)
    embeddings = np.random.default_rng(opset).standard_normal((3, 5, 8)).astype(np.float32)
    embeddings[mask == 0] = -1e3  # a padded position that leaks would be the minimum
    stage = stagekit.with_batch_axis(MinPooler().build_graph(8, opset))

    got = open_session(stage).run(None, {"token_embeddings": embeddings, "attention_mask": mask})[0]

    expected = np.stack([embeddings[0].min(axis=0), embeddings[1, :2].min(axis=0), np.zeros(8, np.float32)])
    np.testing.assert_array_equal(got, expected)


def test_examples_convert_a_model_into_a_batched_graph(installed_examples: Path, tiny_model, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    folder = tiny_model("bert-uncased")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(installed_examples), os.environ.get("PYTHONPATH", "")])}
    env.pop("EMBEDPIPE_LOAD_PLUGINS", None)
    done = subprocess.run(
        [sys.executable, "-c", CONVERT, str(folder), str(tmp_path), str(POWER)],
        env=env, capture_output=True, text=True, check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]

    graph = Path(done.stdout.strip().splitlines()[-1])
    rows = open_session(graph).run(None, {contract.TEXT: np.array(TEXTS, dtype=object)})[0]

    tokens = SentenceTransformer(str(folder), device="cpu").encode(TEXTS, output_value="token_embeddings")
    pooled = np.stack([t.numpy().min(axis=0) for t in tokens])
    powered = np.sign(pooled) * np.abs(pooled) ** POWER
    expected = powered / np.linalg.norm(powered, axis=1, keepdims=True)
    assert len({len(t) for t in tokens}) == len(TEXTS)  # every row has its own length: the chunk is padded
    np.testing.assert_allclose(rows, expected, rtol=0, atol=1e-5)
