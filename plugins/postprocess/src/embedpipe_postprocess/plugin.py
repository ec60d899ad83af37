"""The entry-point module: registers ``normalize``, ``dense`` and ``truncate``."""

from __future__ import annotations

from embedpipe import hookimpl
from embedpipe.hookspecs import Register
from embedpipe_postprocess.dense import dense
from embedpipe_postprocess.normalize import NormalizePostProcessor
from embedpipe_postprocess.truncate import TruncatePostProcessor


@hookimpl
def embedpipe_register_postprocessors(register: Register) -> None:
    """Register ``normalize``, ``dense`` and ``truncate``."""
    register("normalize", NormalizePostProcessor)
    register("dense", dense)
    register("truncate", TruncatePostProcessor)
