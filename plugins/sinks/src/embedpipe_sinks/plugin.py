"""The entry-point module: registers the ``file`` and ``zip`` sinks."""

from __future__ import annotations

from embedpipe import hookimpl
from embedpipe.hookspecs import Register

from embedpipe_sinks.file import FileSink
from embedpipe_sinks.zip import ZipSink


@hookimpl
def embedpipe_register_sinks(register: Register) -> None:
    """Register ``file`` and ``zip``."""
    register("file", FileSink)
    register("zip", ZipSink)
