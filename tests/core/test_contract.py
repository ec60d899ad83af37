"""The contract between the core and the plugins is defined once, in ``embedpipe.contract``, and honoured.

A value both sides must agree on (a stage's node-name prefix, a metadata key) written out as a
literal anywhere but the contract module is a second definition that can drift from the first,
silently: the FP16 quantizer used to find the pooler by its own copy of the prefix, the Oracle
plugin used to read the settings by its own copy of the key.
"""

from __future__ import annotations

import ast
import inspect
from pathlib import Path

import pytest
from embedpipe import contract
from embedpipe.components import Quantizer
from embedpipe.plugins import get_plugin_manager

ROOT = Path(__file__).parents[2]
CONTRACT = ROOT / "core" / "src" / "embedpipe" / "contract.py"
SHARED = {
    contract.TOKENIZER_STAGE,
    contract.ENCODER_STAGE,
    contract.POOLER_STAGE,
    contract.POSTPROCESSOR_STAGES,
    contract.postprocessor_stage(0),
    contract.SETTINGS_KEY,
    contract.SOURCE_KEY,
    contract.MANIFEST_KEY,
}
SOURCES = sorted(
    path
    for folder in ("core/src", "plugins/*/src", "contrib/*/src")
    for path in ROOT.glob(f"{folder}/**/*.py")
    if path != CONTRACT
)


def _literals(path: Path) -> set[str]:
    """Every string constant in the file, including the literal parts of f-strings."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return {node.value for node in ast.walk(tree) if isinstance(node, ast.Constant) and isinstance(node.value, str)}


def test_the_sources_are_found() -> None:
    assert len(SOURCES) > 50 and ROOT / "plugins/quantize/src/embedpipe_quantize/fp16.py" in SOURCES


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: str(p.relative_to(ROOT)))
def test_no_source_redeclares_a_contract_value(path: Path) -> None:
    assert not _literals(path) & SHARED, "import it from embedpipe.contract instead"


@pytest.mark.parametrize("name", ["int8", "fp16"])
def test_every_quantizer_implements_the_protocol_exactly(name: str) -> None:
    """``quality_floor`` is declared (the pipeline reads it), and ``quantize`` takes what the pipeline passes, no more."""
    quantizer = get_plugin_manager().create("quantizers", name)
    assert isinstance(quantizer, Quantizer)
    assert 0 < quantizer.quality_floor <= 1
    wanted = list(inspect.signature(Quantizer.quantize).parameters)[1:]
    assert list(inspect.signature(quantizer.quantize).parameters) == wanted
