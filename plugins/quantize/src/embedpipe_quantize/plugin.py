"""The entry-point module: registers the ``int8`` and ``fp16`` quantizers.

Every command loads this module, so it names the quantizers by import path; onnxruntime's
quantization tools are imported when a quantizer is built.
"""

from __future__ import annotations

from embedpipe import hookimpl
from embedpipe.hookspecs import Register


@hookimpl
def embedpipe_register_quantizers(register: Register) -> None:
    """Register ``int8`` and ``fp16``."""
    register("int8", "embedpipe_quantize.int8:Int8Quantizer")
    register("fp16", "embedpipe_quantize.fp16:Fp16Quantizer")
