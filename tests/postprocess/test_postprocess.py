"""The normalize and dense stages against sentence-transformers' own Normalize and Dense modules."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from onnx import TensorProto
from onnx.reference import ReferenceEvaluator
from sentence_transformers.sentence_transformer.modules import Dense, Normalize
from torch import nn

from embedpipe import components, contract
from embedpipe.errors import ConfigError, ModelSourceError
from embedpipe.stagekit import with_batch_axis
from embedpipe_postprocess.activations import SUPPORTED_NAMES
from embedpipe_postprocess.dense import DensePostProcessor, dense
from embedpipe_postprocess.normalize import NormalizePostProcessor
from embedpipe_postprocess.truncate import TruncatePostProcessor

WEIGHT_FILES = {True: "model.safetensors", False: "pytorch_model.bin"}


def sentence_transformers_output(module: nn.Module, features: np.ndarray) -> np.ndarray:
    with torch.no_grad():
        return module({"sentence_embedding": torch.from_numpy(features)})["sentence_embedding"].numpy()


def saved_dense(folder: Path, module: Dense, safe_serialization: bool) -> Path:
    """A 2_Dense folder written by sentence-transformers' own save."""
    folder.mkdir()
    module.save(str(folder), safe_serialization=safe_serialization)
    assert (folder / WEIGHT_FILES[safe_serialization]).is_file()
    return folder


# -- normalize --------------------------------------------------------------------------------
@pytest.mark.parametrize("scale", [0.0, 1e-8, 1.0, 1e3])
@pytest.mark.parametrize("dim", [1, 8, 384])
def test_normalize_matches_sentence_transformers(run_stage, dim: int, scale: float) -> None:
    features = (np.random.default_rng(dim).standard_normal((1, dim)) * scale).astype(np.float32)
    processor = NormalizePostProcessor()

    got = run_stage(processor.build_graph(dim, contract.DEFAULT_OPSET), features_in=features)

    np.testing.assert_allclose(got, sentence_transformers_output(Normalize(), features), rtol=0, atol=1e-6)
    assert np.isfinite(got).all()
    assert processor.output_dim(dim) == dim


def test_normalize_reference_is_sentence_transformers() -> None:
    assert type(NormalizePostProcessor().reference_module(8)) is Normalize
    assert isinstance(NormalizePostProcessor(), components.PostProcessor)


# -- dense: every activation ------------------------------------------------------------------
@pytest.mark.parametrize("with_bias", [True, False])
@pytest.mark.parametrize("activation", SUPPORTED_NAMES)
def test_every_activation_matches_over_its_whole_range(run_stage, activation: str, with_bias: bool) -> None:
    # An identity weight makes the pre-activation exactly this grid, which crosses every kink and
    # threshold the activations have (0, +-0.5, +-1, +-3, 6, Softplus' 20) and reaches where exp overflows.
    grid = np.concatenate([np.linspace(-30, 30, 121), [-100, -89, 89, 100]]).astype(np.float32)[None, :]
    bias = np.random.default_rng(0).uniform(-0.1, 0.1, grid.shape[1]).astype(np.float32) if with_bias else None
    weight = np.eye(grid.shape[1], dtype=np.float32)
    processor = dense(weight=weight, bias_values=bias, activation_function=activation)
    reference = Dense(
        grid.shape[1],
        grid.shape[1],
        bias=with_bias,
        activation_function=getattr(nn, activation)(),
        init_weight=torch.from_numpy(weight),
        init_bias=None if bias is None else torch.from_numpy(bias),
    )

    stage = processor.build_graph(grid.shape[1], contract.DEFAULT_OPSET)
    got = run_stage(stage, features_in=grid)
    # ONNX's reference evaluator computes each op as the spec defines it, so the graph is right by the
    # spec and not only by ONNX Runtime's kernels (its Sigmoid warns about a branch it then discards).
    with np.errstate(over="ignore", invalid="ignore"):
        (by_spec,) = ReferenceEvaluator(stage).run(None, {contract.POSTPROCESS_INPUT: grid})

    expected = sentence_transformers_output(reference, grid)
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-5)
    np.testing.assert_allclose(by_spec, expected, rtol=0, atol=1e-5)


@pytest.mark.parametrize("safe_serialization", [True, False], ids=["safetensors", "bin"])
@pytest.mark.parametrize("with_bias", [True, False])
@pytest.mark.parametrize("activation", SUPPORTED_NAMES)
def test_dense_folder_matches_the_module_that_saved_it(
    run_stage, tmp_path: Path, activation: str, with_bias: bool, safe_serialization: bool
) -> None:
    torch.manual_seed(len(activation))
    module = Dense(24, 12, bias=with_bias, activation_function=getattr(nn, activation)())
    folder = saved_dense(tmp_path / "2_Dense", module, safe_serialization)
    features = (np.random.default_rng(7).standard_normal((1, 24)) * 4).astype(np.float32)

    processor = dense(path=folder)
    got = run_stage(processor.build_graph(24, contract.MAX_OPSET), features_in=features)

    expected = sentence_transformers_output(module, features)
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-5)
    np.testing.assert_allclose(
        sentence_transformers_output(processor.reference_module(24), features), expected, rtol=0, atol=0
    )
    assert processor.output_dim(24) == 12


def test_dense_stage_honours_the_contract() -> None:
    weight = np.ones((3, 5), dtype=np.float32)

    stage = dense(weight=weight, activation_function=None).build_graph(5, contract.DEFAULT_OPSET)

    assert stage.ir_version == contract.DEFAULT_IR_VERSION
    assert [(o.domain, o.version) for o in stage.opset_import] == [("", contract.DEFAULT_OPSET)]
    (graph_input,), (graph_output,) = stage.graph.input, stage.graph.output
    assert graph_input.name == contract.POSTPROCESS_INPUT and graph_output.name == contract.POSTPROCESS_OUTPUT
    for value, dims in ((graph_input, [1, 5]), (graph_output, [1, 3])):
        assert value.type.tensor_type.elem_type == TensorProto.FLOAT
        assert [d.dim_value for d in value.type.tensor_type.shape.dim] == dims



@pytest.mark.parametrize("processor", ["normalize", "dense", "truncate"])
def test_stage_processes_a_batch_row_by_row(run_stage, processor: str) -> None:
    """The batched client graph runs the same stage on [N, D]: each row, a zero row included, on its own."""
    rng = np.random.default_rng(3)
    component = {
        "normalize": NormalizePostProcessor(),
        "dense": dense(weight=rng.standard_normal((4, 6)), bias_values=rng.standard_normal(4), activation_function="GELU"),
        "truncate": TruncatePostProcessor(2),
    }[processor]
    features = (rng.standard_normal((5, 6)) * 3).astype(np.float32)
    features[2] = 0
    stage = component.build_graph(6, contract.DEFAULT_OPSET)

    got = run_stage(with_batch_axis(stage), features_in=features)

    rows = np.concatenate([run_stage(stage, features_in=row[None]) for row in features])
    np.testing.assert_allclose(got, rows, rtol=0, atol=1e-6)


@pytest.mark.parametrize(
    "spelling", ["torch.nn.modules.activation.GELU", "torch.nn.GELU", "GELU", "gelu"]
)
def test_activation_spellings(spelling: str) -> None:
    processor = dense(weight=np.eye(2, dtype=np.float32), activation_function=spelling)

    assert type(processor.reference_module(2).activation_function) is nn.GELU


def test_default_activation_is_tanh_and_none_is_identity() -> None:
    weight = np.eye(2, dtype=np.float32)

    assert type(dense(weight=weight).reference_module(2).activation_function) is nn.Tanh
    assert type(dense(weight=weight, activation_function=None).reference_module(2).activation_function) is nn.Identity


@pytest.mark.parametrize(
    "activation",
    [
        "torch.nn.modules.activation.Softmax",
        "torch.nn.PReLU",
        "Threshold",
        "my_package.Tanh",
        "torch.nn.modules.linear.Tanh",
    ],
)
def test_unsupported_activation_is_a_config_error_listing_the_supported(activation: str) -> None:
    with pytest.raises(ConfigError, match=r"Softsign") as raised:
        dense(weight=np.eye(2, dtype=np.float32), activation_function=activation)

    assert activation in str(raised.value) and "\n" not in str(raised.value)


def test_activation_modules_are_refused_because_their_parameters_would_be_lost() -> None:
    with pytest.raises(ConfigError, match=r"LeakyReLU\(negative_slope=0\.2\)"):
        dense(weight=np.eye(2, dtype=np.float32), activation_function=nn.LeakyReLU(0.2))


def test_unsupported_activation_in_a_saved_folder_is_a_config_error(tmp_path: Path) -> None:
    folder = saved_dense(tmp_path / "2_Dense", Dense(4, 2, activation_function=nn.Softmax(dim=-1)), True)

    with pytest.raises(ConfigError, match=r"torch\.nn\.modules\.activation\.Softmax"):
        dense(path=folder)


@pytest.mark.parametrize("call", ["output_dim", "build_graph", "reference_module"])
def test_wrong_input_dim_is_a_config_error(tmp_path: Path, call: str) -> None:
    processor = dense(path=saved_dense(tmp_path / "2_Dense", Dense(8, 4), True))
    arguments = (7, contract.DEFAULT_OPSET) if call == "build_graph" else (7,)

    with pytest.raises(ConfigError, match="takes 8 features"):
        getattr(processor, call)(*arguments)


@pytest.mark.parametrize(
    "options",
    [
        {"weight": np.ones((2, 3)), "in_features": 2},
        {"weight": np.ones((2, 3)), "out_features": 3},
        {"weight": np.ones((2, 3)), "bias": True},
        {"weight": np.ones((2, 3)), "bias": False, "bias_values": np.ones(2)},
        {"weight": np.ones((2, 3)), "bias_values": np.ones(3)},
        {"weight": np.ones(3)},
        {"weight": np.ones((2, 3)), "path": "2_Dense"},
    ],
    ids=["in_features", "out_features", "bias_missing", "bias_unwanted", "bias_shape", "weight_1d", "path_and_weight"],
)
def test_inconsistent_explicit_options_are_config_errors(options: dict) -> None:
    with pytest.raises(ConfigError):
        dense(**options)


def test_explicit_options_build_the_same_dense_as_sentence_transformers(run_stage) -> None:
    torch.manual_seed(3)
    module = Dense(16, 6, activation_function=nn.GELU())
    features = np.random.default_rng(3).standard_normal((1, 16)).astype(np.float32)

    processor = dense(
        weight=module.linear.weight.detach().numpy(),
        bias_values=module.linear.bias.detach().numpy(),
        in_features=16,
        out_features=6,
        bias=True,
        activation_function="torch.nn.modules.activation.GELU",
    )

    got = run_stage(processor.build_graph(16, contract.DEFAULT_OPSET), features_in=features)
    np.testing.assert_allclose(got, sentence_transformers_output(module, features), rtol=0, atol=1e-5)
    assert isinstance(processor, DensePostProcessor) and isinstance(processor, components.PostProcessor)


# -- dense: folders the stage cannot reproduce --------------------------------------------------
def test_residual_dense_is_refused(tmp_path: Path) -> None:
    folder = saved_dense(tmp_path / "2_Dense", Dense(4, 4, use_residual=True), True)

    with pytest.raises(ConfigError, match="use_residual"):
        dense(path=folder)


def test_token_level_dense_is_refused(tmp_path: Path) -> None:
    folder = saved_dense(tmp_path / "2_Dense", Dense(4, 4, module_input_name="token_embeddings"), True)

    with pytest.raises(ConfigError, match="token_embeddings"):
        dense(path=folder)


def test_folder_without_weights_is_a_model_source_error(tmp_path: Path) -> None:
    folder = saved_dense(tmp_path / "2_Dense", Dense(4, 2), True)
    (folder / WEIGHT_FILES[True]).unlink()

    with pytest.raises(ModelSourceError, match="neither"):
        dense(path=folder)


def test_folder_with_unexpected_weights_is_a_model_source_error(tmp_path: Path) -> None:
    folder = saved_dense(tmp_path / "2_Dense", Dense(4, 2), False)
    torch.save({"linear.weight": torch.ones(2, 4), "extra": torch.ones(1)}, folder / WEIGHT_FILES[False])

    with pytest.raises(ModelSourceError, match="extra"):
        dense(path=folder)


def test_folder_without_config_is_a_model_source_error(tmp_path: Path) -> None:
    folder = saved_dense(tmp_path / "2_Dense", Dense(4, 2), True)
    (folder / "config.json").write_text(json.dumps([1, 2]))

    with pytest.raises(ModelSourceError, match="config.json"):
        dense(path=folder)
    with pytest.raises(ModelSourceError, match="config.json"):
        dense(path=tmp_path / "missing")


def test_pickled_weights_are_read_without_running_code(tmp_path: Path) -> None:
    folder = saved_dense(tmp_path / "2_Dense", Dense(4, 2), False)
    hostile = {"linear.weight": torch.ones(2, 4), "linear.bias": torch.ones(2), "hook": print}
    torch.save(hostile, folder / WEIGHT_FILES[False])

    with pytest.raises(ModelSourceError, match="cannot read the Dense weights"):
        dense(path=folder)


# -- discovery ----------------------------------------------------------------------------------
def test_entry_point_registers_normalize_and_dense(installed_plugins, tmp_path: Path) -> None:
    manager = installed_plugins("postprocess", "embedpipe-postprocess")

    registry = manager.registry("postprocessors")

    assert {registry[name].plugin for name in ("normalize", "dense")} == {"postprocess"}
    folder = saved_dense(tmp_path / "2_Dense", Dense(4, 2), True)
    assert manager.create("postprocessors", "dense", path=folder).output_dim(4) == 2
    assert isinstance(manager.create("postprocessors", "normalize"), NormalizePostProcessor)
