"""The entry-point module: registers ``normalize``, ``dense`` and ``truncate``.

Every command loads this module, so it names the stages by import path; their modules (torch,
sentence-transformers) are imported when a post-processor is built.
"""

from __future__ import annotations

from embedpipe import hookimpl
from embedpipe.hookspecs import Register


@hookimpl
def embedpipe_register_postprocessors(register: Register) -> None:
    """Register ``normalize``, ``dense`` and ``truncate``."""
    register("normalize", "embedpipe_postprocess.normalize:NormalizePostProcessor")
    register("dense", "embedpipe_postprocess.dense:dense")
    register("truncate", "embedpipe_postprocess.truncate:TruncatePostProcessor")
