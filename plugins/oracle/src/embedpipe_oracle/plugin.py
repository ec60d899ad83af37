"""The entry-point module: registers the ``oracle`` sink and the ``load`` and ``sql`` commands.

Every command loads this module, so the sink is named by import path (python-oracledb and
onnxruntime are imported when a graph goes to a database); the commands module is light
(click and rich), as `embedpipe --help` lists its commands.
"""

from __future__ import annotations

from embedpipe import hookimpl
from embedpipe.hookspecs import Register


@hookimpl
def embedpipe_register_sinks(register: Register) -> None:
    """Register ``oracle``."""
    register("oracle", "embedpipe_oracle.sink:OracleSink")


@hookimpl
def embedpipe_register_commands(register: Register) -> None:
    """Register ``embedpipe load`` and ``embedpipe sql``."""
    from embedpipe_oracle.cli import load, sql

    register("load", load)
    register("sql", sql)
