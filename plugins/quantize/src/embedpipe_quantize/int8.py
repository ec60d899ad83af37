"""Dynamic INT8: weights stored as 8-bit integers, activations quantized per call by standard ONNX ops.

onnxruntime.quantization writes ``DynamicQuantizeLinear`` + ``MatMulInteger`` (and
``DequantizeLinear`` after a quantized ``Gather``), all standard ONNX, so the file loads in every
runtime Oracle embeds; ONNX Runtime fuses them into its own kernels when it opens the graph,
nothing hardware-specific is baked into the file.
"""

from __future__ import annotations

import tempfile
from collections.abc import Sequence
from pathlib import Path

import onnx
from embedpipe.errors import ConfigError
from onnxruntime.quantization import QuantType, quantize_dynamic

from embedpipe_quantize.quiet import quiet_quantization_logs

WEIGHT_TYPES = {"qint8": QuantType.QInt8, "quint8": QuantType.QUInt8}
# Ops dynamic quantization handles with standard ONNX ops only (no com.microsoft kernels in the file).
PORTABLE_OP_TYPES = frozenset({"MatMul", "Gather"})


class Int8Quantizer:
    """Dynamic INT8 of the graph's body; defaults measured on all-MiniLM-L6-v2 (docs/quantization.md).

    Per-channel scales keep the mean cosine to fp32 near 0.99 where per-tensor scales give about
    0.93; reduce_range (7-bit weights) avoids the u8*s8 overflow of CPUs without VNNI, which the
    database host may be.
    """

    quality_floor = 0.98

    def __init__(
        self,
        weight_type: str = "qint8",
        per_channel: bool = True,
        reduce_range: bool = True,
        op_types: Sequence[str] = ("MatMul", "Gather"),
    ) -> None:
        if str(weight_type).lower() not in WEIGHT_TYPES:
            raise ConfigError(f"INT8 weight_type {weight_type!r} is unknown", f"use one of: {', '.join(WEIGHT_TYPES)}")
        unknown = sorted(set(op_types) - PORTABLE_OP_TYPES)
        if unknown or not op_types:
            raise ConfigError(
                f"INT8 op_types {list(op_types)!r} are not all quantizable with standard ONNX ops",
                f"choose among: {', '.join(sorted(PORTABLE_OP_TYPES))}",
            )
        for flag, value in (("per_channel", per_channel), ("reduce_range", reduce_range)):
            if not isinstance(value, bool):
                raise ConfigError(f"INT8 {flag} must be true or false, got {value!r}", f"set {flag} to true or false")
        self.weight_type = WEIGHT_TYPES[str(weight_type).lower()]
        self.per_channel = per_channel
        self.reduce_range = reduce_range
        self.op_types = list(op_types)

    def quantize(self, model: onnx.ModelProto) -> onnx.ModelProto:
        """The body with the chosen ops' float weights in INT8; inputs and outputs keep their types."""
        with tempfile.TemporaryDirectory(prefix="embedpipe-int8-") as folder, quiet_quantization_logs():
            output = Path(folder) / "int8.onnx"
            quantize_dynamic(
                model,
                output,
                op_types_to_quantize=self.op_types,
                per_channel=self.per_channel,
                reduce_range=self.reduce_range,
                weight_type=self.weight_type,
                use_external_data_format=model.ByteSize() > onnx.checker.MAXIMUM_PROTOBUF // 2,
            )
            return onnx.load(str(output))
