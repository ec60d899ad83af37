"""The entry-point module: registers the ``file`` sink."""

from __future__ import annotations

from embedpipe import hookimpl
from embedpipe.hookspecs import Register
from embedpipe_sinks.file import FileSink


@hookimpl
def embedpipe_register_sinks(register: Register) -> None:
    """Register ``file``."""
    register("file", FileSink)
