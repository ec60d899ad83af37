"""The entry-point module: registers the four poolers under the names configs use.

Every command loads this module, so it names the stages by import path; their modules (and
sentence-transformers, which their reference modules use) are imported when a pooler is built.
"""

from __future__ import annotations

from embedpipe import hookimpl
from embedpipe.hookspecs import Register


@hookimpl
def embedpipe_register_poolers(register: Register) -> None:
    """Register ``mean``, ``cls``, ``max`` and ``lasttoken``."""
    register("mean", "embedpipe_pooling.mean:MeanPooler")
    register("cls", "embedpipe_pooling.cls:ClsPooler")
    register("max", "embedpipe_pooling.max:MaxPooler")
    register("lasttoken", "embedpipe_pooling.lasttoken:LastTokenPooler")
