"""Accuracy-aware INT8: SmoothQuant, dynamic INT8, and the most damaged MatMuls computed in float, searched within the floors.

onnxruntime.quantization writes ``DynamicQuantizeLinear`` + ``MatMulInteger`` (and
``DequantizeLinear`` after a quantized ``Gather``), all standard ONNX, so the file loads in every
runtime Oracle embeds; ONNX Runtime fuses them into its own kernels when it opens the graph.
Measured on all-MiniLM-L6-v2 (bench/results/quantize_recipes.md), that alone moves each vector
to a mean cosine of 0.989 and keeps 91% of each query's ten neighbours. Two measured fixes, applied
to the body with real inputs from the pipeline's ``Calibration``:

* SmoothQuant (smooth.py) evens out the outlier channels each MatMul input carries;
* the feed-forward down projections (weights wider in than out: they read the activation's
  long-tailed outputs, and per-node sensitivity ranks them the most damaging) keep float
  arithmetic on int8-stored weights (weightonly.py), so the file stays INT8-sized.

``float_compute="search"`` (the default) walks ``SEARCH`` from the fastest step and keeps the first
whose body meets the calibration's floors (mean cosine, top-10 neighbour overlap); ``kept_float``
names the MatMuls it left in float arithmetic, and the quality report carries them.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path

import onnx
from embedpipe.components import Calibration
from embedpipe.errors import ConfigError
from onnxruntime.quantization import QuantType, quantize_dynamic

from embedpipe_quantize.quiet import quiet_quantization_logs
from embedpipe_quantize.smooth import smooth, weighted_matmuls
from embedpipe_quantize.weightonly import dequantized_weights

WEIGHT_TYPES = {"qint8": QuantType.QInt8, "quint8": QuantType.QUInt8}
# Ops dynamic quantization handles with standard ONNX ops only (no com.microsoft kernels in the file).
PORTABLE_OP_TYPES = frozenset({"MatMul", "Gather"})


def _shape(model: onnx.ModelProto) -> dict[str, tuple[int, ...]]:
    return {t.name: tuple(t.dims) for t in model.graph.initializer}


def _down(model: onnx.ModelProto) -> list[str]:
    shapes = _shape(model)
    return [n.name for n in weighted_matmuls(model) if shapes[n.input[1]][0] > shapes[n.input[1]][1]]


def _feed_forward(model: onnx.ModelProto) -> list[str]:
    shapes = _shape(model)
    return [n.name for n in weighted_matmuls(model) if shapes[n.input[1]][0] != shapes[n.input[1]][1]]


# Which weighted MatMuls keep float arithmetic, fastest first.
FLOAT_COMPUTE: dict[str, Callable[[onnx.ModelProto], list[str]]] = {
    "none": lambda model: [],
    "down": _down,
    "feed-forward": _feed_forward,
    "all": lambda model: [n.name for n in weighted_matmuls(model)],
}
SEARCH = "search"


class Int8Quantizer:
    """INT8 of the graph's body; defaults measured on all-MiniLM-L6-v2 (docs/quantization.md).

    Per-channel weight scales (mean cosine 0.99 where per-tensor gives 0.93); 7-bit weights
    (``reduce_range=True``: the database host may be a CPU without VNNI, where ONNX Runtime's u8*s8
    products of full 8-bit weights can saturate; this machine cannot show it, so the safe default
    stays, at 0.001 of mean cosine); SmoothQuant at ``smooth_alpha`` 0.7 (0 turns it off).
    """

    quality_floor = 0.995
    neighbour_floor = 0.95

    def __init__(
        self,
        weight_type: str = "qint8",
        per_channel: bool = True,
        reduce_range: bool = True,
        op_types: Sequence[str] = ("MatMul", "Gather"),
        smooth_alpha: float = 0.7,
        float_compute: str = SEARCH,
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
        if isinstance(smooth_alpha, bool) or not isinstance(smooth_alpha, (int, float)) or not 0 <= smooth_alpha < 1:
            raise ConfigError(f"INT8 smooth_alpha {smooth_alpha!r} is not in [0, 1)", "use e.g. 0.7, or 0 for no smoothing")
        if float_compute not in (SEARCH, *FLOAT_COMPUTE):
            raise ConfigError(f"INT8 float_compute {float_compute!r} is unknown", f"use one of: {', '.join((SEARCH, *FLOAT_COMPUTE))}")
        self.weight_type = WEIGHT_TYPES[str(weight_type).lower()]
        self.per_channel = per_channel
        self.reduce_range = reduce_range
        self.op_types = list(op_types)
        self.smooth_alpha = float(smooth_alpha)
        self.float_compute = float_compute
        self.kept_float: tuple[str, ...] = ()

    def quantize(self, model: onnx.ModelProto, calibration: Calibration) -> onnx.ModelProto:
        """The body with the chosen ops' weights in INT8; inputs and outputs keep their types.

        Searching, the first step of ``FLOAT_COMPUTE`` the calibration accepts wins, else the last.
        """
        steps = list(FLOAT_COMPUTE) if self.float_compute == SEARCH else [self.float_compute]
        for step in steps:
            kept = FLOAT_COMPUTE[step](model) if "MatMul" in self.op_types else []
            quantized = self._quantize(model, calibration, kept)
            if step == steps[-1] or calibration.accepts(quantized):
                break
        self.kept_float = tuple(kept)
        return quantized

    def _quantize(self, model: onnx.ModelProto, calibration: Calibration, kept: Sequence[str]) -> onnx.ModelProto:
        if self.smooth_alpha and "MatMul" in self.op_types:
            model = smooth(model, calibration.feeds, self.smooth_alpha, skip=kept)
        with tempfile.TemporaryDirectory(prefix="embedpipe-int8-") as folder, quiet_quantization_logs():
            output = Path(folder) / "int8.onnx"
            quantize_dynamic(
                model,
                output,
                op_types_to_quantize=self.op_types,
                per_channel=self.per_channel,
                reduce_range=self.reduce_range,
                weight_type=self.weight_type,
                nodes_to_exclude=list(kept),
                use_external_data_format=model.ByteSize() > onnx.checker.MAXIMUM_PROTOBUF // 2,
            )
            return dequantized_weights(onnx.load(str(output)), set(kept))
