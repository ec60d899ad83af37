"""The entry-point module: registers the four poolers under the names configs use."""

from __future__ import annotations

from embedpipe import hookimpl
from embedpipe.hookspecs import Register
from embedpipe_pooling.cls import ClsPooler
from embedpipe_pooling.lasttoken import LastTokenPooler
from embedpipe_pooling.max import MaxPooler
from embedpipe_pooling.mean import MeanPooler


@hookimpl
def embedpipe_register_poolers(register: Register) -> None:
    """Register ``mean``, ``cls``, ``max`` and ``lasttoken``."""
    for pooler in (MeanPooler, ClsPooler, MaxPooler, LastTokenPooler):
        register(pooler.mode, pooler)
