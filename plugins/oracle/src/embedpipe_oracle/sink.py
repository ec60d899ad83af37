"""The ``oracle`` sink: ``ONNXPipeline.export2db`` and ``convert --to-db`` end here."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import onnx
from embedpipe.errors import ConfigError

from embedpipe_oracle.connection import CONNECTION_OPTIONS
from embedpipe_oracle.load import load_model

log = logging.getLogger(__name__)
_LOAD_OPTIONS = frozenset({"replace", "directory", "file_name", "distance_metrics", "languages", "chunk_bytes", "prompt"})


class OracleSink:
    """Loads the finished graph into Oracle Database and verifies it there; writes no local file.

    Options: ``connection`` (an open oracledb connection) or the connection options
    (dsn, user, password, config_dir, wallet_location, wallet_password; else EMBEDPIPE_ORACLE_*),
    ``replace``, ``distance_metrics``, ``languages``, ``chunk_bytes``; ``directory`` with
    ``file_name`` loads a copy of the graph the server already holds in that directory object.
    """

    def write(self, model: onnx.ModelProto, name: str, output_dir: Path, **options: Any) -> list[Path]:
        connection = options.pop("connection", None)
        unknown = sorted(set(options) - _LOAD_OPTIONS - CONNECTION_OPTIONS)
        if unknown:
            raise ConfigError(
                f"the oracle sink does not take {', '.join(unknown)}",
                f"use {', '.join(sorted(_LOAD_OPTIONS | CONNECTION_OPTIONS | {'connection'}))}",
            )
        if options.get("directory") and not options.get("file_name"):
            raise ConfigError(
                "a directory load needs the file's name in that directory", "pass file_name='<name>.onnx' with directory="
            )
        connect = {key: options.pop(key) for key in CONNECTION_OPTIONS & set(options)}
        result = load_model(model, name, connection=connection, connect=connect, **options)
        log.info("loaded %s: %s", result.name, result.checked)
        return []
