"""Connecting in python-oracledb's thin mode from options, EMBEDPIPE_ORACLE_* variables or a prompt.

A password arrives only from the Python API, the environment or a hidden prompt: never from a bare
command-line argument, and it is never printed, logged or put in an error message.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import oracledb
from embedpipe.errors import ConfigError

from embedpipe_oracle.errors import explain

ENV_PREFIX = "EMBEDPIPE_ORACLE_"
# option name -> environment variable suffix
_SOURCES = {
    "dsn": "DSN",
    "user": "USER",
    "password": "PASSWORD",
    "config_dir": "CONFIG_DIR",
    "wallet_location": "WALLET_LOCATION",
    "wallet_password": "WALLET_PASSWORD",
}
CONNECTION_OPTIONS = frozenset(_SOURCES)

Prompt = Callable[[str], str]


@dataclass(frozen=True)
class ConnectionSettings:
    """Where and as whom to connect; the secrets are left out of ``repr``."""

    dsn: str
    user: str
    password: str = field(repr=False)
    config_dir: str | None = None
    wallet_location: str | None = None
    wallet_password: str | None = field(default=None, repr=False)

    @classmethod
    def gather(
        cls, options: Mapping[str, Any], *, environ: Mapping[str, str] | None = None, prompt: Prompt | None = None
    ) -> ConnectionSettings:
        """Each value from ``options``, else ``EMBEDPIPE_ORACLE_<NAME>``, else (password only) the prompt."""
        environ = os.environ if environ is None else environ
        values = {name: options.get(name) or environ.get(ENV_PREFIX + suffix) or None for name, suffix in _SOURCES.items()}
        for required in ("dsn", "user"):
            if not values[required]:
                raise ConfigError(
                    f"no Oracle {required.upper()} given",
                    f"pass --{required} or set {ENV_PREFIX}{_SOURCES[required]}",
                )
        if not values["password"]:
            values["password"] = _ask_password(values["user"], prompt)
        return cls(**values)

    def connect(self) -> oracledb.Connection:
        """A thin-mode connection; a refusal is one line without the password."""
        arguments = {k: v for k, v in vars(self).items() if v is not None}
        try:
            return oracledb.connect(**arguments)
        except oracledb.Error as exc:
            raise explain(exc, while_doing=f"connecting to {self.dsn} as {self.user}") from None


def _ask_password(user: str, prompt: Prompt | None) -> str:
    if prompt is None:
        if not sys.stdin.isatty():
            raise ConfigError(
                f"no password for Oracle user {user} and no terminal to ask on",
                f"set {ENV_PREFIX}PASSWORD in the environment (never on the command line)",
            )
        import getpass

        prompt = getpass.getpass
    password = prompt(f"Oracle password for {user}: ")
    if not password:
        raise ConfigError(f"an empty password was entered for {user}", f"type the password, or set {ENV_PREFIX}PASSWORD")
    return password
