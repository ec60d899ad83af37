"""Hooks of the presets distribution."""

from __future__ import annotations

from embedpipe import hookimpl
from embedpipe.hookspecs import Register

from embedpipe_presets.models import HEAD_PRESETS, PRESETS


@hookimpl
def embedpipe_register_presets(register: Register) -> None:
    for name, properties in {**PRESETS, **HEAD_PRESETS}.items():
        register(name, properties)
