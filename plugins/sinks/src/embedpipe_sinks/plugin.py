"""The entry-point module: registers the ``file`` and ``zip`` sinks.

Every command loads this module, so it names the sinks by import path; they are imported when
a graph is written.
"""

from __future__ import annotations

from embedpipe import hookimpl
from embedpipe.hookspecs import Register


@hookimpl
def embedpipe_register_sinks(register: Register) -> None:
    """Register ``file`` and ``zip``."""
    register("file", "embedpipe_sinks.file:FileSink")
    register("zip", "embedpipe_sinks.zip:ZipSink")
