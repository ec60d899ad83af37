"""The oracle profile's text split: GPT2Tokenizer's UTF-8 bytes decoded to code points by tensor ops.

Checked against Python's own code points, in this runtime and in Oracle's two (ONNX Runtime 1.15.1
+ extensions 0.10.1, 1.20.1 + 0.12.0): every code point, random text, the op's special
``<|endoftext|>``, and the declared NUL limit.
"""

from __future__ import annotations

import pathlib
import random
from collections.abc import Sequence

import numpy as np
import onnx
import pytest
from embedpipe import contract
from embedpipe.runtime import open_session
from embedpipe_tokenizers.toolkit.graph import GraphBuilder
from embedpipe_tokenizers.toolkit.utf8 import NUL_SPLIT, utf8_split_op, utf8_to_code_points
from onnx import TensorProto, helper

from tests.tokenizers.stage_checks import assert_old_runtimes_give_reference_ids

CHUNK = 4096


def _code_point_stage() -> onnx.ModelProto:
    """string [1] -> its code points as int64 [1, N], named as a tokenizer stage's ids."""
    g = GraphBuilder(contract.DEFAULT_OPSET, op_profile=contract.ORACLE_PROFILE)
    code_points = utf8_to_code_points(g, g.flatten(utf8_split_op(g, contract.TEXT)))
    g.nodes.append(helper.make_node("Unsqueeze", [code_points, g.scalar(0, shape=(1,))], [contract.INPUT_IDS]))
    graph = helper.make_graph(
        g.nodes,
        "utf8",
        [helper.make_tensor_value_info(contract.TEXT, TensorProto.STRING, [1])],
        [helper.make_tensor_value_info(contract.INPUT_IDS, TensorProto.INT64, [1, "n"])],
        initializer=g.initializers,
    )
    return helper.make_model(graph, opset_imports=g.opset_imports(), ir_version=contract.DEFAULT_IR_VERSION)


@pytest.fixture(scope="module")
def stage() -> onnx.ModelProto:
    return _code_point_stage()


def _expected(texts: Sequence[str]) -> list[list[int]]:
    """Python's code points of each text up to its first NUL (the op reads no further)."""
    return [[ord(ch) for ch in text.split("\x00")[0]] for text in texts]


def _every_code_point() -> list[str]:
    code_points = [cp for cp in range(1, 0x110000) if not 0xD800 <= cp <= 0xDFFF]
    return ["".join(map(chr, code_points[i : i + CHUNK])) for i in range(0, len(code_points), CHUNK)]


def _hard_texts() -> list[str]:
    rng = random.Random(13)
    planes = [(0x01, 0x7F), (0x80, 0x7FF), (0x800, 0xD7FF), (0xE000, 0xFFFF), (0x10000, 0x10FFFF)]
    randoms = ["".join(chr(rng.randint(*rng.choice(planes))) for _ in range(rng.randint(0, 60))) for _ in range(300)]
    specials = ["<|endoftext|>", "a<|endoftext|>b<|endoftext|>", "<|endoftext|", "|endoftext|>", " <|endoftext|> "]
    return ["", " ", "\t\n\r  \u3000", "e\u0301\u0302", "🎉👍🏽", "\x7f\x80\u07ff\u0800\uffff\U00010000\U0010ffff", *specials, *randoms]


def test_every_code_point_in_every_runtime(stage: onnx.ModelProto, tmp_path: pathlib.Path) -> None:
    texts = _every_code_point()
    assert_old_runtimes_give_reference_ids(stage, CHUNK, texts, _expected, tmp_path)


def test_random_text_and_the_ops_special_token_in_every_runtime(stage: onnx.ModelProto, tmp_path: pathlib.Path) -> None:
    texts = _hard_texts()
    assert_old_runtimes_give_reference_ids(stage, 64, texts, _expected, tmp_path)


def test_text_after_a_nul_is_lost_as_declared(stage: onnx.ModelProto, tmp_path: pathlib.Path) -> None:
    texts = ["a\x00b", "\x00xyz", "before\x00after\x00again", "end\x00"]
    assert_old_runtimes_give_reference_ids(stage, 32, texts, _expected, tmp_path)
    assert all(NUL_SPLIT.matches(t) for t in texts) and not NUL_SPLIT.matches("no nul here")
    assert NUL_SPLIT.op_profiles == {contract.ORACLE_PROFILE}


def test_a_long_text_decodes_whole(stage: onnx.ModelProto) -> None:
    rng = random.Random(7)
    text = "".join(chr(rng.choice([rng.randint(0x20, 0x7E), rng.randint(0x4E00, 0x9FFF), rng.randint(0x1F300, 0x1F5FF)])) for _ in range(100_000))
    (ids,) = open_session(stage).run([contract.INPUT_IDS], {contract.TEXT: np.array([text], dtype=object)})
    assert ids[0].tolist() == [ord(ch) for ch in text]
