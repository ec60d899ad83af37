"""Fixtures for the Oracle sink's tests: the database double, converted graphs, an external-data set."""

from __future__ import annotations

import shutil
import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.oracle.double import DoubleConnection, OracleDouble


@pytest.fixture
def oracle_double() -> OracleDouble:
    """A fresh database (26ai flavour, 1 GiB limit, CREATE MINING MODEL granted) per test."""
    return OracleDouble()


@pytest.fixture
def oracle_connection(oracle_double: OracleDouble) -> DoubleConnection:
    return oracle_double.connect()


@pytest.fixture(scope="session")
def oracle_minilm_file(minilm_export) -> Path:  # type: ignore[no-untyped-def]
    """all-MiniLM-L6-v2 as one self-contained .onnx (converted once per session by the shared fixture)."""
    return minilm_export[1]


def _convert(folder: Path, name: str, output: Path, **config: object) -> Path:
    """One tiny model converted with embedpipe, validated as any export is."""
    from embedpipe import ONNXPipeline, ONNXPipelineConfig

    return ONNXPipeline(folder, ONNXPipelineConfig(**config)).export2file(name, output)


@pytest.fixture(scope="session")
def oracle_tiny_file(tiny_model: Callable[..., Path], tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny random-weight BERT converted once: a second, different model (dimension 32) for replacing."""
    return _convert(tiny_model("bert-uncased"), "tiny_bert", tmp_path_factory.mktemp("oracle-tiny"))


@pytest.fixture(scope="session")
def oracle_portable_file(tiny_model: Callable[..., Path], tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The same tiny BERT converted with op_profile='portable': its tokenizer uses com.microsoft ops."""
    folder = tmp_path_factory.mktemp("oracle-portable")
    return _convert(tiny_model("bert-uncased"), "tiny_portable", folder, op_profile="portable")


@pytest.fixture(scope="session")
def oracle_external_set(tiny_model: Callable[..., Path], tmp_path_factory: pytest.TempPathFactory) -> Path:
    """What ``embedpipe convert TINY -o tiny_ext.onnx --external-data`` writes, unzipped: its .onnx.

    The Oracle commands are tested on the files the exporter really writes, never on a layout a
    fixture invents (issue 14).
    """
    from click.testing import CliRunner
    from embedpipe.cli import main

    folder = tmp_path_factory.mktemp("oracle-external")
    target = folder / "tiny_ext.onnx"
    result = CliRunner().invoke(
        main, ["convert", str(tiny_model("bert-uncased")), "-o", str(target), "--external-data", "--no-validate"]
    )
    assert result.exit_code == 0, result.output
    unzipped = folder / "unzipped"
    with zipfile.ZipFile(folder / "tiny_ext.zip") as archive:
        archive.extractall(unzipped)
    return unzipped / target.name


@pytest.fixture
def server_directory(tmp_path: Path) -> Callable[[OracleDouble, Path], Path]:
    """Copy a model's files into a folder and register it with the double as directory DM_DUMP."""

    def register(database: OracleDouble, model: Path) -> Path:
        folder = tmp_path / "dm_dump"
        folder.mkdir(exist_ok=True)
        for sibling in model.parent.glob(f"{model.stem}.*"):
            shutil.copy(sibling, folder / sibling.name)
        database.create_directory("DM_DUMP", folder)
        return folder

    return register


@pytest.fixture(scope="session")
def oracle_other_tiny_file(tiny_model: Callable[..., Path], tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Another tiny model (cased BERT, dimension 32): the quick 'new' model when replacing."""
    return _convert(tiny_model("bert-cased"), "tiny_cased", tmp_path_factory.mktemp("oracle-tiny-cased"))
