"""Keep onnxruntime's quantization tools from printing advice to the user's terminal."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator


@contextlib.contextmanager
def quiet_quantization_logs() -> Iterator[None]:
    """The tools log through the root logger ("Please consider to run pre-processing ..."): raise its level meanwhile."""
    root = logging.getLogger()
    level = root.level
    root.setLevel(max(level, logging.ERROR))
    try:
        yield
    finally:
        root.setLevel(level)
