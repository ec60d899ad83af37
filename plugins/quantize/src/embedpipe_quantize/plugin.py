"""The entry-point module: registers the ``int8`` and ``fp16`` quantizers."""

from __future__ import annotations

from embedpipe import hookimpl
from embedpipe.hookspecs import Register

from embedpipe_quantize.fp16 import Fp16Quantizer
from embedpipe_quantize.int8 import Int8Quantizer


@hookimpl
def embedpipe_register_quantizers(register: Register) -> None:
    """Register ``int8`` and ``fp16``."""
    register("int8", Int8Quantizer)
    register("fp16", Fp16Quantizer)
