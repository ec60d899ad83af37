"""The entry-point module: registers the ``oracle`` sink and the ``load`` and ``sql`` commands."""

from __future__ import annotations

from embedpipe import hookimpl
from embedpipe.hookspecs import Register

from embedpipe_oracle.sink import OracleSink


@hookimpl
def embedpipe_register_sinks(register: Register) -> None:
    """Register ``oracle``."""
    register("oracle", OracleSink)


@hookimpl
def embedpipe_register_commands(register: Register) -> None:
    """Register ``embedpipe load`` and ``embedpipe sql``."""
    from embedpipe_oracle.cli import load, sql

    register("load", load)
    register("sql", sql)
