"""The torch activations a sentence-transformers ``Dense`` may name, each with its exact ONNX form.

``Dense.load`` builds the activation from ``config.json`` with no arguments, so only each class's
default parameters matter. Activations without an exact, parameter-free ONNX form (Softmax needs a
dim, PReLU learns weights, RReLU is random in training) are refused by name.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

from onnx import NodeProto, helper
from torch import nn

from embedpipe.errors import ConfigError
from embedpipe.stagekit import scalar

# Emits nodes from tensor ``x`` to tensor ``y``; helper tensors are named after ``y`` so they never clash.
Emit = Callable[[str, str], list[NodeProto]]

# What sentence-transformers' Dense uses when config.json names no activation.
DEFAULT_ACTIVATION = "torch.nn.modules.activation.Tanh"
# torch.nn.SELU's constants.
SELU_ALPHA = 1.6732632423543772848170429916717
SELU_SCALE = 1.0507009873554804934193349852946


@dataclass(frozen=True)
class Activation:
    """One supported activation: the torch class (for the reference) and its ONNX nodes."""

    torch_class: type[nn.Module]
    emit: Emit

    @property
    def name(self) -> str:
        return self.torch_class.__name__


def _op(op_type: str, **attributes: float) -> Emit:
    return lambda x, y: [helper.make_node(op_type, [x], [y], **attributes)]


def _clip(low: float, high: float) -> Emit:
    def emit(x: str, y: str) -> list[NodeProto]:
        bounds = [scalar(f"{y}_low", low), scalar(f"{y}_high", high)]
        return [*bounds, helper.make_node("Clip", [x, f"{y}_low", f"{y}_high"], [y])]

    return emit


def _times(gate: Emit) -> Emit:
    """x * gate(x): SiLU, Hardswish and Mish share this shape."""

    def emit(x: str, y: str) -> list[NodeProto]:
        return [*gate(x, f"{y}_gate"), helper.make_node("Mul", [x, f"{y}_gate"], [y])]

    return emit


def _gelu(x: str, y: str) -> list[NodeProto]:
    """The exact (erf) GELU: x * 0.5 * (1 + erf(x / sqrt(2)))."""
    return [
        scalar(f"{y}_rsqrt2", math.sqrt(0.5)),
        helper.make_node("Mul", [x, f"{y}_rsqrt2"], [f"{y}_scaled"]),
        helper.make_node("Erf", [f"{y}_scaled"], [f"{y}_erf"]),
        scalar(f"{y}_one", 1.0),
        helper.make_node("Add", [f"{y}_erf", f"{y}_one"], [f"{y}_erf1"]),
        scalar(f"{y}_half", 0.5),
        helper.make_node("Mul", [x, f"{y}_half"], [f"{y}_halfx"]),
        helper.make_node("Mul", [f"{y}_halfx", f"{y}_erf1"], [y]),
    ]


def _mish_gate(x: str, y: str) -> list[NodeProto]:
    return [helper.make_node("Softplus", [x], [f"{y}_softplus"]), helper.make_node("Tanh", [f"{y}_softplus"], [y])]


def _logsigmoid(x: str, y: str) -> list[NodeProto]:
    """-softplus(-x): ONNX Runtime's (and ONNX's reference) Softplus stays finite where exp overflows."""
    return [
        helper.make_node("Neg", [x], [f"{y}_neg"]),
        helper.make_node("Softplus", [f"{y}_neg"], [f"{y}_softplus"]),
        helper.make_node("Neg", [f"{y}_softplus"], [y]),
    ]


def _tanhshrink(x: str, y: str) -> list[NodeProto]:
    return [helper.make_node("Tanh", [x], [f"{y}_tanh"]), helper.make_node("Sub", [x, f"{y}_tanh"], [y])]


_HARDSIGMOID = _op("HardSigmoid", alpha=1 / 6, beta=0.5)  # relu6(x + 3) / 6

_SUPPORTED = (
    Activation(nn.Identity, _op("Identity")),
    Activation(nn.Tanh, _op("Tanh")),
    Activation(nn.Sigmoid, _op("Sigmoid")),
    Activation(nn.ReLU, _op("Relu")),
    Activation(nn.ReLU6, _clip(0.0, 6.0)),
    Activation(nn.LeakyReLU, _op("LeakyRelu", alpha=0.01)),
    Activation(nn.ELU, _op("Elu", alpha=1.0)),
    Activation(nn.CELU, _op("Celu", alpha=1.0)),
    Activation(nn.SELU, _op("Selu", alpha=SELU_ALPHA, gamma=SELU_SCALE)),
    Activation(nn.GELU, _gelu),
    Activation(nn.SiLU, _times(_op("Sigmoid"))),
    Activation(nn.Mish, _times(_mish_gate)),
    Activation(nn.Softplus, _op("Softplus")),
    Activation(nn.Softsign, _op("Softsign")),
    Activation(nn.LogSigmoid, _logsigmoid),
    Activation(nn.Hardtanh, _clip(-1.0, 1.0)),
    Activation(nn.Hardsigmoid, _HARDSIGMOID),
    Activation(nn.Hardswish, _times(_HARDSIGMOID)),
    Activation(nn.Hardshrink, _op("Shrink", lambd=0.5, bias=0.0)),
    Activation(nn.Softshrink, _op("Shrink", lambd=0.5, bias=0.5)),
    Activation(nn.Tanhshrink, _tanhshrink),
)
_BY_NAME = {activation.name.lower(): activation for activation in _SUPPORTED}
SUPPORTED_NAMES = tuple(activation.name for activation in _SUPPORTED)


def resolve(spec: str | None) -> Activation:
    """The activation a Dense config names: ``None`` is Identity (as in sentence-transformers).

    Accepts the full name sentence-transformers saves (``torch.nn.modules.activation.Tanh``), the
    ``torch.nn.Tanh`` alias, or the bare class name.
    """
    if spec is None:
        return _BY_NAME["identity"]
    # Only names: a module instance could carry non-default parameters the stage would ignore.
    activation = _BY_NAME.get(spec.rsplit(".", 1)[-1].lower()) if isinstance(spec, str) else None
    if activation is not None and "." in spec:
        cls = activation.torch_class
        if spec not in (f"{cls.__module__}.{cls.__qualname__}", f"torch.nn.{cls.__name__}"):
            activation = None
    if activation is None:
        raise ConfigError(
            f"Dense activation {spec!r} has no supported ONNX form",
            f"use one of: {', '.join(SUPPORTED_NAMES)}",
        )
    return activation
