"""A small ONNX graph builder: named nodes and constants, and the ops whose form changed at opset 18.

The exact tokenizer is a few hundred lines of tensor code; writing it as calls (``g.op("Add", a, b)``)
instead of hand-made NodeProtos keeps each step readable, and keeps the opset 17/18 differences
(reduce axes as attribute or input) and the op profile's way of splitting text (``character_rows``)
in one place.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import onnx
from embedpipe import contract
from embedpipe.errors import ConfigError
from embedpipe_tokenizers.toolkit.utf8 import utf8_split_op, utf8_to_code_points
from onnx import TensorProto, helper, numpy_helper

ML_DOMAIN = "ai.onnx.ml"
MS_DOMAIN = contract.CONTRIB_DOMAIN
INT64_MAX = np.iinfo(np.int64).max
CODE_POINT_COUNT = 0x110000
BLOCK = 256  # code points per block of the oracle profile's character table
MIN_OPSET = 13  # Unsqueeze/Squeeze/Slice with tensor axes


def check_opset(opset: int) -> None:
    """Refuse an opset the exact stages are not written for."""
    if not MIN_OPSET <= opset <= contract.MAX_OPSET:
        raise ConfigError(f"opset {opset} is not supported", f"use an opset from {MIN_OPSET} to {contract.MAX_OPSET}")


class GraphBuilder:
    """Collects nodes and initializers; every value is an int64 tensor unless a step says otherwise."""

    def __init__(self, opset: int, prefix: str = "tok", *, op_profile: str = contract.DEFAULT_OP_PROFILE) -> None:
        if op_profile not in contract.OP_PROFILES:
            raise ValueError(f"unknown op profile {op_profile!r}")
        self.opset = opset
        self.prefix = prefix
        self.op_profile = op_profile
        self.nodes: list[onnx.NodeProto] = []
        self.initializers: list[onnx.TensorProto] = []
        self._count = 0
        self._scalars: dict[tuple[Any, str], str] = {}

    def subgraph(self, prefix: str) -> GraphBuilder:
        """A builder for a Loop body: its own nodes, but constants go to this graph (the body reads
        them from the outer scope, which every ONNX Runtime version accepts)."""
        body = GraphBuilder(self.opset, f"{self.prefix}/{prefix}", op_profile=self.op_profile)
        body.initializers = self.initializers
        body._scalars = self._scalars
        return body

    def loop(self, state: str, round_: Callable[[GraphBuilder, str], tuple[str, str]], hint: str) -> str:
        """Repeat ``round_`` (state -> (go on?, next state)) on one int64 tensor until it says stop.

        The state's shape may change from round to round. The first round always runs.
        """
        body = self.subgraph(hint)
        carried = f"{body.prefix}/state_in"
        go_on, state_out = round_(body, carried)
        cond_out = body.op("Identity", go_on, hint="cond_out")
        state_final = body.op("Identity", state_out, hint="state_out")
        graph = helper.make_graph(
            body.nodes,
            hint,
            [
                helper.make_tensor_value_info(f"{body.prefix}/iteration", TensorProto.INT64, []),
                helper.make_tensor_value_info(f"{body.prefix}/cond_in", TensorProto.BOOL, []),
                helper.make_tensor_value_info(carried, TensorProto.INT64, None),
            ],
            [
                helper.make_tensor_value_info(cond_out, TensorProto.BOOL, []),
                helper.make_tensor_value_info(state_final, TensorProto.INT64, None),
            ],
        )
        return self.op("Loop", "", self.scalar(True, bool), state, hint=hint, body=graph)

    def _name(self, hint: str) -> str:
        self._count += 1
        return f"{self.prefix}/{hint}_{self._count}"

    def const(self, value: Any, hint: str = "c", dtype: Any = np.int64) -> str:
        """An initializer holding ``value`` (numpy array, list or scalar) as ``dtype``."""
        array = np.asarray(value, dtype=dtype)
        name = self._name(hint)
        self.initializers.append(numpy_helper.from_array(array, name))
        return name

    def scalar(self, value: int | bool, dtype: Any = np.int64, shape: tuple[int, ...] = ()) -> str:
        """A small shared constant (one per value, type and shape), so repeated literals cost nothing."""
        key = (value, np.dtype(dtype).name + str(shape))
        if key not in self._scalars:
            self._scalars[key] = self.const(np.full(shape, value), "k", dtype=dtype)
        return self._scalars[key]

    def op(self, op_type: str, *inputs: str, hint: str | None = None, domain: str = "", **attrs: Any) -> str:
        """Append one node with a single output and return that output's name."""
        out = self._name(hint or op_type.lower())
        self.nodes.append(helper.make_node(op_type, list(inputs), [out], domain=domain, **attrs))
        return out

    def character_rows(
        self,
        text: str,
        prefix: str,
        keys: Sequence[str],
        values: Sequence[int] | np.ndarray,
        default: int,
        hint: str,
        *,
        code_point_scale: int = 0,
    ) -> str:
        """The string tensor [1] as one table row per Unicode code point [N] (NUL, newlines and
        combining marks included; the empty string gives none): ``values[i]`` where the code point
        is ``keys[i]`` (one-character strings), else ``default``; plus code point * ``code_point_scale``
        when the values hold it (a stage packing the code point beside its row). ``prefix`` (a
        prompt) comes first: no allowed op joins strings, so it joins here, before anything reads the text.

        How the text is split depends on the op profile. ``portable``: com.microsoft.Tokenizer gives
        one string per code point, looked up by string in a LabelEncoder. ``oracle``: the
        GPT2Tokenizer op (a tokenizer op Oracle documents) with a byte vocabulary gives the UTF-8
        bytes, decoded here into code points (that op stops at the first NUL, docs/tokenizers.md),
        looked up by number in a block table (``code_point_lookup``), with the code point's own part
        added by the graph rather than stored per code point.
        """
        if self.op_profile == contract.PORTABLE_PROFILE:
            split = self.flatten(self.op("Tokenizer", text, domain=MS_DOMAIN, mark=0, mincharnum=1, pad_value="", separators=[""]))
            if prefix:
                split = self.concat([self.const(list(prefix), "prefix", dtype=object), split])
            return self.label_encoder(split, keys, [int(v) for v in values], default, hint)
        code_points = utf8_to_code_points(self, self.flatten(utf8_split_op(self, text)))
        if prefix:
            code_points = self.concat([self.const([ord(ch) for ch in prefix], "prefix"), code_points])
        table = np.full(CODE_POINT_COUNT, default, np.int64)
        listed = np.fromiter(map(ord, keys), np.int64, len(keys))
        table[listed] = np.asarray(values, np.int64) - listed * code_point_scale
        rows = self.code_point_lookup(code_points, table, hint)
        if code_point_scale:
            rows = self.op("Add", rows, self.op("Mul", code_points, self.scalar(code_point_scale)))
        return rows

    def code_point_lookup(self, code_points: str, table: np.ndarray, hint: str) -> str:
        """``table[code_points]`` for a table over all code points, stored as blocks of 256 code
        points, each distinct block once (most of Unicode is unassigned or uniform, so a real
        vocabulary's table is a small fraction of one entry per code point), in int32 when it fits."""
        blocks, block_of = np.unique(table.reshape(-1, BLOCK), axis=0, return_inverse=True)
        small = np.iinfo(np.int32).min <= blocks.min() and blocks.max() <= np.iinfo(np.int32).max
        data = self.const(blocks.reshape(-1), f"{hint}_blocks", dtype=np.int32 if small else np.int64)
        start = self.take(self.const(block_of.reshape(-1) * BLOCK, f"{hint}_block_starts"), self.op("Div", code_points, self.scalar(BLOCK)))
        rows = self.op("Gather", data, self.op("Add", start, self.op("Mod", code_points, self.scalar(BLOCK))))
        return self.cast(rows, TensorProto.INT64) if small else rows

    def opset_imports(self) -> list[onnx.OperatorSetIdProto]:
        """The domains a stage built with this builder uses, per its op profile."""
        custom = MS_DOMAIN if self.op_profile == contract.PORTABLE_PROFILE else contract.EXTENSIONS_DOMAIN
        return [helper.make_opsetid("", self.opset), helper.make_opsetid(ML_DOMAIN, 2), helper.make_opsetid(custom, 1)]

    def ops(self, op_type: str, *inputs: str, outputs: int, hint: str | None = None, **attrs: Any) -> list[str]:
        """Append one node with several outputs and return their names."""
        names = [self._name(hint or op_type.lower()) for _ in range(outputs)]
        self.nodes.append(helper.make_node(op_type, list(inputs), names, **attrs))
        return names

    # Ops whose signature depends on the opset, or that are spelled often enough to deserve a name.

    def reduce(self, op_type: str, x: str, axis: int, hint: str | None = None) -> str:
        """ReduceMax/ReduceMin over one axis, dropping it (axes became an input at opset 18)."""
        if self.opset >= 18:
            return self.op(op_type, x, self.const([axis], "axes"), hint=hint, keepdims=0)
        return self.op(op_type, x, hint=hint, axes=[axis], keepdims=0)

    def unsqueeze(self, x: str, axis: int) -> str:
        return self.op("Unsqueeze", x, self.scalar(axis, shape=(1,)))

    def flatten(self, x: str) -> str:
        return self.op("Reshape", x, self.scalar(-1, shape=(1,)))

    def slice(self, x: str, start: int, end: int, axis: int = 0) -> str:
        return self.op("Slice", x, self.scalar(start, shape=(1,)), self.scalar(end, shape=(1,)), self.scalar(axis, shape=(1,)))

    def concat(self, parts: Sequence[str], axis: int = 0) -> str:
        return self.op("Concat", *parts, axis=axis)

    def arange(self, length: str) -> str:
        """0..n-1 for a 1-D int64 length tensor of one element (as Shape gives it)."""
        n = self.op("Squeeze", length, self.scalar(0, shape=(1,)))
        return self.op("Range", self.scalar(0), n, self.scalar(1))

    def take(self, data: str, indices: str, columns: int | None = None) -> str:
        """``data[indices]`` for 1-D ``data``: GatherElements, which in ONNX Runtime costs a small
        fraction of Gather's time per index. ``columns``: indices are [n, columns] (else 1-D)."""
        if columns is None:
            return self.op("GatherElements", data, indices, axis=0)
        flat = self.op("GatherElements", data, self.flatten(indices), axis=0)
        return self.op("Reshape", flat, self.const([-1, columns], "shape"))

    def where(self, cond: str, a: str, b: str) -> str:
        return self.op("Where", cond, a, b)

    def cast(self, x: str, to: int) -> str:
        return self.op("Cast", x, to=to)

    def compress(self, x: str, cond: str) -> str:
        return self.op("Compress", x, cond, axis=0)

    def label_encoder(self, x: str, keys: Sequence[Any], values: Sequence[int], default: int, hint: str) -> str:
        """ai.onnx.ml LabelEncoder (opset 2): string or int64 keys to int64 values."""
        key_attr = "keys_strings" if keys and isinstance(keys[0], str) else "keys_int64s"
        return self.op(
            "LabelEncoder",
            x,
            hint=hint,
            domain=ML_DOMAIN,
            **{key_attr: list(keys), "values_int64s": [int(v) for v in values], "default_int64": int(default)},
        )
