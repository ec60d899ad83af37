"""The pooler stages against sentence-transformers' own Pooling module."""

from __future__ import annotations

import numpy as np
import onnx
import pytest
import torch
from onnx import TensorProto
from sentence_transformers.sentence_transformer.modules import Pooling

from embedpipe import components, contract
from embedpipe.stagekit import with_batch_axis
from embedpipe_pooling.cls import ClsPooler
from embedpipe_pooling.lasttoken import LastTokenPooler
from embedpipe_pooling.max import MaxPooler
from embedpipe_pooling.mean import MeanPooler

POOLERS = {"mean": MeanPooler, "cls": ClsPooler, "max": MaxPooler, "lasttoken": LastTokenPooler}
HIDDEN = 16
# Padded positions hold this, so any leak of a masked token shows in every mode.
GARBAGE = 1e3


def make_mask(kind: str, length: int, rng: np.random.Generator) -> np.ndarray:
    """An attention mask [1, length]: unpadded, right or left padded, with holes, or empty."""
    mask = np.ones((1, length), dtype=np.int64)
    kept = max(1, length // 2)
    if kind == "right_padded":
        mask[0, kept:] = 0
    elif kind == "left_padded":
        mask[0, : length - kept] = 0
    elif kind == "holes":
        mask[0] = rng.random(length) < 0.5
        mask[0, rng.integers(length)] = 1
    elif kind == "empty":
        mask[:] = 0
    return mask


def sentence_transformers_pooling(mode: str, embeddings: np.ndarray, mask: np.ndarray) -> np.ndarray:
    features = {"token_embeddings": torch.from_numpy(embeddings), "attention_mask": torch.from_numpy(mask)}
    return Pooling(embeddings.shape[-1], pooling_mode=mode)(features)["sentence_embedding"].numpy()


@pytest.mark.parametrize("opset", [13, contract.DEFAULT_OPSET, contract.MAX_OPSET])
@pytest.mark.parametrize("mask_kind", ["full", "right_padded", "left_padded", "holes", "empty"])
@pytest.mark.parametrize("length", [1, 2, 7, 64])
@pytest.mark.parametrize("mode", sorted(POOLERS))
def test_stage_matches_sentence_transformers(run_stage, mode: str, length: int, mask_kind: str, opset: int) -> None:
    rng = np.random.default_rng([length, opset, len(mask_kind)])
    mask = make_mask(mask_kind, length, rng)
    embeddings = (rng.standard_normal((1, length, HIDDEN)) * 3 - 1).astype(np.float32)
    embeddings[mask == 0] = GARBAGE
    stage = POOLERS[mode]().build_graph(HIDDEN, opset)

    got = run_stage(stage, token_embeddings=embeddings, attention_mask=mask)

    expected = sentence_transformers_pooling(mode, embeddings, mask)
    assert got.shape == (1, HIDDEN) and got.dtype == np.float32
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-5)
    if mask_kind == "empty" and mode != "max":  # sentence-transformers' max gives -inf here, like ours
        assert np.isfinite(got).all()


@pytest.mark.parametrize("mode", sorted(POOLERS))
def test_stage_honours_the_contract(mode: str) -> None:
    stage = POOLERS[mode]().build_graph(384, contract.DEFAULT_OPSET)

    assert stage.ir_version == contract.DEFAULT_IR_VERSION
    assert [(o.domain, o.version) for o in stage.opset_import] == [("", contract.DEFAULT_OPSET)]
    assert {n.domain for n in stage.graph.node} <= {""}

    def signature(values: list[onnx.ValueInfoProto]) -> list[tuple[str, int, list[str | int]]]:
        return [
            (v.name, v.type.tensor_type.elem_type, [d.dim_param or d.dim_value for d in v.type.tensor_type.shape.dim])
            for v in values
        ]

    assert signature(stage.graph.input) == [
        (contract.TOKEN_EMBEDDINGS, TensorProto.FLOAT, [1, "sequence", 384]),
        (contract.ATTENTION_MASK, TensorProto.INT64, [1, "sequence"]),
    ]
    assert signature(stage.graph.output) == [(contract.SENTENCE_EMBEDDING, TensorProto.FLOAT, [1, 384])]


@pytest.mark.parametrize("mode", sorted(POOLERS))
def test_reference_is_sentence_transformers_pooling(mode: str) -> None:
    pooler = POOLERS[mode]()

    reference = pooler.reference_module(HIDDEN)

    assert isinstance(pooler, components.Pooler)
    assert type(reference) is Pooling
    assert reference.pooling_mode == mode and reference.get_embedding_dimension() == HIDDEN


def test_entry_point_registers_the_four_poolers(installed_plugins) -> None:
    manager = installed_plugins("pooling", "embedpipe-pooling")

    registry = manager.registry("poolers")

    assert {"mean", "cls", "max", "lasttoken"} <= set(registry)
    assert {name: registry[name].plugin for name in POOLERS} == dict.fromkeys(POOLERS, "pooling")
    assert isinstance(manager.create("poolers", "lasttoken"), LastTokenPooler)


@pytest.mark.parametrize("mode", sorted(POOLERS))
def test_stage_pools_a_batch_row_by_row(run_stage, mode: str) -> None:
    """The batched client graph runs the same stage on [N, S, H]: each row must pool on its own."""
    rng = np.random.default_rng(7)
    kinds = ["full", "right_padded", "left_padded", "holes", "empty"]
    mask = np.concatenate([make_mask(kind, 9, rng) for kind in kinds])
    embeddings = (rng.standard_normal((len(kinds), 9, HIDDEN)) * 3 - 1).astype(np.float32)
    embeddings[mask == 0] = GARBAGE
    stage = with_batch_axis(POOLERS[mode]().build_graph(HIDDEN, contract.DEFAULT_OPSET))

    got = run_stage(stage, token_embeddings=embeddings, attention_mask=mask)

    assert got.shape == (len(kinds), HIDDEN)
    np.testing.assert_allclose(got, sentence_transformers_pooling(mode, embeddings, mask), rtol=0, atol=1e-5)

