"""The entry-point module: registers ``normalize`` and ``dense``."""

from __future__ import annotations

from embedpipe import hookimpl
from embedpipe.hookspecs import Register
from embedpipe_postprocess.dense import dense
from embedpipe_postprocess.normalize import NormalizePostProcessor


@hookimpl
def embedpipe_register_postprocessors(register: Register) -> None:
    """Register ``normalize`` and ``dense``."""
    register("normalize", NormalizePostProcessor)
    register("dense", dense)
