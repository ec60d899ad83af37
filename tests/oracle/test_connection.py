"""Connecting: options, then EMBEDPIPE_ORACLE_* variables, then a prompt; the password never shows."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import oracledb
import pytest
from embedpipe.errors import ConfigError
from embedpipe_oracle.connection import ConnectionSettings
from embedpipe_oracle.errors import OracleConnectionError
from embedpipe_oracle.load import load_file

from tests.oracle.double import OracleDouble, ora

SECRET = "s3cret-Pa55word"


def test_options_win_over_environment() -> None:
    environ = {
        "EMBEDPIPE_ORACLE_DSN": "envhost:1521/FREEPDB1",
        "EMBEDPIPE_ORACLE_USER": "env_user",
        "EMBEDPIPE_ORACLE_PASSWORD": SECRET,
    }
    settings = ConnectionSettings.gather({"user": "scott"}, environ=environ)
    assert (settings.dsn, settings.user, settings.password) == ("envhost:1521/FREEPDB1", "scott", SECRET)


def test_wallet_settings_come_from_the_environment_too() -> None:
    environ = {
        "EMBEDPIPE_ORACLE_DSN": "mydb_high",
        "EMBEDPIPE_ORACLE_USER": "admin",
        "EMBEDPIPE_ORACLE_PASSWORD": SECRET,
        "EMBEDPIPE_ORACLE_CONFIG_DIR": "/wallet",
        "EMBEDPIPE_ORACLE_WALLET_LOCATION": "/wallet",
        "EMBEDPIPE_ORACLE_WALLET_PASSWORD": "w4llet",
    }
    settings = ConnectionSettings.gather({}, environ=environ)
    assert (settings.config_dir, settings.wallet_location, settings.wallet_password) == ("/wallet", "/wallet", "w4llet")


def test_prompt_is_asked_only_for_a_missing_password() -> None:
    asked: list[str] = []
    settings = ConnectionSettings.gather(
        {"dsn": "h/s", "user": "scott"}, environ={}, prompt=lambda label: asked.append(label) or SECRET
    )
    assert settings.password == SECRET and asked == ["Oracle password for scott: "]


def test_no_password_and_no_terminal_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("sys.stdin.isatty", lambda: False)
    with pytest.raises(ConfigError, match="set EMBEDPIPE_ORACLE_PASSWORD in the environment"):
        ConnectionSettings.gather({"dsn": "h/s", "user": "scott"}, environ={})


@pytest.mark.parametrize("missing", ["dsn", "user"])
def test_missing_dsn_or_user(missing: str) -> None:
    options = {"dsn": "h/s", "user": "scott", "password": SECRET}
    del options[missing]
    with pytest.raises(ConfigError, match=f"EMBEDPIPE_ORACLE_{missing.upper()}"):
        ConnectionSettings.gather(options, environ={})


def test_password_is_not_in_repr() -> None:
    settings = ConnectionSettings("h/s", "scott", SECRET, wallet_password="w4llet")
    assert SECRET not in repr(settings) and "w4llet" not in repr(settings)


def test_thin_mode_connect_gets_every_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: dict[str, Any] = {}
    monkeypatch.setattr(oracledb, "connect", lambda **kw: seen.update(kw) or "connection")
    assert ConnectionSettings("mydb_high", "admin", SECRET, "/w", "/w", "wp").connect() == "connection"
    assert seen == {
        "dsn": "mydb_high",
        "user": "admin",
        "password": SECRET,
        "config_dir": "/w",
        "wallet_location": "/w",
        "wallet_password": "wp",
    }
    assert oracledb.is_thin_mode()


def test_refused_login_is_one_line_without_the_password(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def refuse(**_: Any) -> None:
        raise ora(1017, "invalid credential or not authorized; logon denied")

    monkeypatch.setattr(oracledb, "connect", refuse)
    caplog.set_level(logging.DEBUG)
    with pytest.raises(OracleConnectionError) as caught:
        ConnectionSettings("h:1521/FREEPDB1", "scott", SECRET).connect()
    message = str(caught.value)
    assert message.startswith("connecting to h:1521/FREEPDB1 as scott: ") and "EMBEDPIPE_ORACLE_PASSWORD" in message
    assert SECRET not in message and SECRET not in caplog.text and "\n" not in message
    assert caught.value.__cause__ is None and caught.value.__context__ is not None


def test_load_opens_and_closes_its_own_connection(
    monkeypatch: pytest.MonkeyPatch, oracle_double: OracleDouble, oracle_tiny_file: Path
) -> None:
    connections = []

    def connect(**kwargs: Any):  # type: ignore[no-untyped-def]
        connections.append(oracle_double.connect())
        return connections[-1]

    monkeypatch.setattr(oracledb, "connect", connect)
    monkeypatch.setenv("EMBEDPIPE_ORACLE_DSN", "h/s")
    monkeypatch.setenv("EMBEDPIPE_ORACLE_USER", "scott")
    monkeypatch.setenv("EMBEDPIPE_ORACLE_PASSWORD", SECRET)
    load_file(oracle_tiny_file, "OWN", connect={})
    assert len(connections) == 1 and connections[0].closed and "OWN" in oracle_double.models
