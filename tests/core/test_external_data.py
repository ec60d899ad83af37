"""External data: the .onnx + .dat + .onnx_external_data.json layout Oracle 26ai loads, and the zip export2file writes.

A tiny model with a threshold of 0 bytes stands in for a model above 1 GB (the large model is
measured in bench/bench_large_model.py, not here).
"""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import numpy as np
import onnx
import pytest
from click.testing import CliRunner
from embedpipe import ONNXPipeline, ONNXPipelineConfig, compat
from embedpipe.cli import main
from embedpipe.runtime import embed, open_session, run_inputs
from embedpipe.samples import SAMPLES
from embedpipe.weights import ExternalDataLayout
from onnx import numpy_helper

from tests.conftest import ORACLE_EXACT_SAMPLES

NAMES = {"tiny.onnx", "tiny.dat", "tiny.onnx_external_data.json"}


@pytest.fixture(scope="module")
def external_zip(tiny_model, tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    """(pipeline, zip path) of a tiny model exported with a 0-byte external-data threshold."""
    pipe = ONNXPipeline(tiny_model("bert-uncased"), ONNXPipelineConfig(external_data_threshold=0))
    return pipe, pipe.export2file("tiny", tmp_path_factory.mktemp("external"))


@pytest.fixture(scope="module")
def unzipped(external_zip, tmp_path_factory: pytest.TempPathFactory) -> Path:  # type: ignore[no-untyped-def]
    _, path = external_zip
    folder = tmp_path_factory.mktemp("unzipped")
    with zipfile.ZipFile(path) as archive:
        archive.extractall(folder)
    return folder


def test_export2file_writes_a_zip_of_safe_flat_names(external_zip) -> None:  # type: ignore[no-untyped-def]
    _, path = external_zip
    assert path.name == "tiny.zip" and sorted(p.name for p in path.parent.iterdir()) == ["tiny.manifest.json", "tiny.zip"]
    with zipfile.ZipFile(path) as archive:
        names = archive.namelist()
        assert archive.testzip() is None
    assert set(names) == NAMES and len(names) == 3
    assert all("/" not in n and "\\" not in n and ".." not in n and not n.startswith(".") for n in names)


def test_unzipped_folder_loads_and_matches_sentence_transformers(external_zip, unzipped: Path, tiny_model) -> None:  # type: ignore[no-untyped-def]
    from sentence_transformers import SentenceTransformer

    pipe, _ = external_zip
    assert pipe.report.ok
    reference = SentenceTransformer(str(tiny_model("bert-uncased")), device="cpu").encode(list(ORACLE_EXACT_SAMPLES), convert_to_numpy=True)
    found = embed(open_session(unzipped / "tiny.onnx"), ORACLE_EXACT_SAMPLES)
    cos = (found * reference).sum(1) / (np.linalg.norm(found, axis=1) * np.linalg.norm(reference, axis=1))
    assert cos.min() >= 0.9999


def test_description_matches_the_data_file_byte_for_byte(unzipped: Path) -> None:
    description = json.loads((unzipped / "tiny.onnx_external_data.json").read_text())
    data = (unzipped / "tiny.dat").read_bytes()
    graph = onnx.load(str(unzipped / "tiny.onnx"), load_external_data=False)
    external = {t.name: t for t in graph.graph.initializer if onnx.external_data_helper.uses_external_data(t)}
    entries = description["initializers"]
    assert description["model"] == "tiny.onnx" and description["data_files"] == ["tiny.dat"]
    assert sorted(e["name"] for e in entries) == sorted(external) and len(entries) > 10
    assert any(e["name"].startswith("tokenizer/") for e in entries)  # every large tensor, not only the encoder's
    loaded = onnx.load(str(unzipped / "tiny.onnx"))  # onnx resolves the references itself
    values = {t.name: numpy_helper.to_array(t) for t in loaded.graph.initializer}
    end = 0
    for entry in sorted(entries, key=lambda e: e["offset"]):
        tensor = external[entry["name"]]
        array = values[entry["name"]]
        assert entry["location"] == "tiny.dat" and entry["offset"] % 4096 == 0 and entry["offset"] >= end
        assert entry["shape"] == list(tensor.dims) == list(array.shape)
        assert entry["type"] == onnx.TensorProto.DataType.Name(tensor.data_type)
        assert entry["size"] == array.nbytes
        assert data[entry["offset"] : entry["offset"] + entry["size"]] == array.tobytes()
        end = entry["offset"] + entry["size"]
    assert end <= len(data)


def test_the_layout_is_named_as_oracle_looks_it_up() -> None:
    """LOAD_ONNX_MODEL's default description name is <file_name>_external_data.json, file_name being the .onnx's name."""
    layout = ExternalDataLayout.named("bge_large")
    assert layout == ExternalDataLayout("bge_large.onnx")
    assert layout.files == ("bge_large.onnx", "bge_large.dat", "bge_large.onnx_external_data.json")


def test_file_sink_writes_the_three_files_side_by_side(tiny_model, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    pipe = ONNXPipeline(tiny_model("bert-uncased"), ONNXPipelineConfig(use_external_data=True, validate=False))
    path = pipe.export2file("tiny", tmp_path, sink="file")
    assert path == tmp_path / "tiny.onnx" and {p.name for p in tmp_path.iterdir()} == NAMES | {"tiny.manifest.json"}
    assert embed(open_session(path), ["hello world"]).shape == (1, 32)


def test_a_reranker_with_external_data_scores_as_crossencoder(tmp_path: Path) -> None:
    """Rerankers use the same layout; the weights come back from tiny.dat and score as the model does."""
    import torch
    from sentence_transformers import CrossEncoder

    from tests.core.classifiers import build_classifier

    folder = build_classifier(tmp_path / "model", "bert-uncased", {0: "LABEL_0"})
    pipe = ONNXPipeline(folder, ONNXPipelineConfig(function="regression", max_seq_length=64, use_external_data=True, validate=False))
    out = tmp_path / "out"
    path = pipe.export2file("tiny", out, sink="file")
    assert {p.name for p in out.iterdir()} == NAMES | {"tiny.manifest.json"}
    pairs = [("what is a vector?", "A vector is a list of numbers."), ("", "naïve café"), ("日本語", " ")]
    session = open_session(path)
    got = [float(run_inputs(session, pair)[0]) for pair in pairs]
    reference = CrossEncoder(str(folder), device="cpu", max_length=64)
    want = reference.predict([list(p) for p in pairs], activation_fn=torch.nn.Identity(), convert_to_numpy=True)  # the raw logit, the default
    np.testing.assert_allclose(got, want, atol=1e-4)


def test_below_the_threshold_the_graph_stays_one_file(tiny_model, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    pipe = ONNXPipeline(tiny_model("bert-uncased"), ONNXPipelineConfig(validate=False))
    path = pipe.export2file("tiny", tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["tiny.manifest.json", "tiny.onnx"]
    assert not any(onnx.external_data_helper.uses_external_data(t) for t in onnx.load(str(path)).graph.initializer)


def test_int8_with_external_data(tiny_model, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    pipe = ONNXPipeline(tiny_model("distilbert"), ONNXPipelineConfig(quantize_model=True, use_external_data=True))
    path = pipe.export2file("tiny", tmp_path)
    with zipfile.ZipFile(path) as archive:
        archive.extractall(tmp_path / "out")
    direct = embed(open_session(tmp_path / "out" / "tiny.onnx"), SAMPLES)
    assert np.allclose(direct, embed(pipe.open_session(), SAMPLES), atol=1e-6)
    assert pipe.quality.ok and pipe.report.ok


def test_cli_external_data_writes_the_zip(tiny_model, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    result = CliRunner().invoke(
        main, ["convert", str(tiny_model("bert-uncased")), "-o", str(tmp_path / "t.onnx"), "--external-data", "--json"]
    )
    assert result.exit_code == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["output"] == str(tmp_path / "t.zip") and report["dimension"] == 32
    # -o t.onnx became t.zip: said on stderr, with what is inside and what to do (issue 14)
    assert f"went out as {tmp_path / 't.zip'} holding t.onnx, t.dat, t.onnx_external_data.json" in result.stderr
    with zipfile.ZipFile(tmp_path / "t.zip") as archive:
        archive.extractall(tmp_path / "t")
    inspected = CliRunner().invoke(main, ["inspect", str(tmp_path / "t" / "t.onnx"), "--json"])
    assert inspected.exit_code == 0, inspected.stderr
    external = json.loads(inspected.stdout)["external_data"]
    assert external["files"] == ["t.dat"] and external["bytes"] <= (tmp_path / "t" / "t.dat").stat().st_size


@pytest.mark.compat
def test_unzipped_folder_agrees_across_oracle_runtimes(unzipped: Path) -> None:
    report = compat.check_compat(unzipped / "tiny.onnx")
    print(report.table())
    assert report.ok, report.table()


def test_streamed_encoder_weights_match_sentence_transformers(tiny_model, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    """The large-model path (export_params=False, weights streamed from torch into the .dat) forced on a tiny model."""
    from embedpipe import encoder
    from embedpipe.encoder import export_encoder, load_encoder
    from embedpipe.weights import SMALLEST_EXTERNAL, WeightFolder
    from sentence_transformers import SentenceTransformer

    folder = tiny_model("bert-uncased")
    monkeypatch.setattr(encoder, "STREAM_ABOVE", 0)
    pipe = ONNXPipeline(folder, ONNXPipelineConfig(use_external_data=True))
    assert pipe.validate().ok
    reference = SentenceTransformer(str(folder), device="cpu").encode(list(ORACLE_EXACT_SAMPLES), convert_to_numpy=True)
    found = embed(pipe.open_session(), ORACLE_EXACT_SAMPLES)
    cos = (found * reference).sum(1) / (np.linalg.norm(found, axis=1) * np.linalg.norm(reference, axis=1))
    assert cos.min() >= 0.9999

    weights = WeightFolder()
    try:
        stage = export_encoder(pipe.source, pipe.encoder_inputs, weights)
        assert [i.name for i in stage.graph.input] == list(pipe.encoder_inputs)  # every parameter input got its tensor
        state = {f"model.{k}": v for k, v in load_encoder(pipe.source).state_dict().items()}
        assert stage.graph.initializer and all(t.name in state for t in stage.graph.initializer)
        for tensor in stage.graph.initializer:
            external = onnx.external_data_helper.uses_external_data(tensor)
            assert external == (state[tensor.name].numel() * state[tensor.name].element_size() >= SMALLEST_EXTERNAL)
            if external:
                assert {e.key: e.value for e in tensor.external_data}["location"] == "encoder.dat"
        loaded = weights.internalize(stage)
        for tensor in loaded.graph.initializer:
            assert np.array_equal(numpy_helper.to_array(tensor), state[tensor.name].numpy())
    finally:
        weights.cleanup()
