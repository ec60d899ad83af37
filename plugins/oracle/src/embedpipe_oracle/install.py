"""Put a model live under its name: load, verify, and (with replace) swap without losing the old one.

Replacing runs as a journal of steps, each with its undo:

1. load the new model as a staging name            undo: drop the staging model
2. verify it                                       (nothing to undo)
3. rename the live model to a second staging name  undo: rename it back
4. rename the new model to the live name           undo: rename it back to its staging name
5. drop the old model

A failure at any step runs the undos in reverse, so the old model answers under its name again
and no staging model is left. Only if an undo itself fails does the error name what remains.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

import oracledb

from embedpipe_oracle.database import Database
from embedpipe_oracle.errors import ModelExistsError, OracleSinkError, explain
from embedpipe_oracle.names import staging_name
from embedpipe_oracle.verify import Expected, Verification, verify

log = logging.getLogger(__name__)

T = TypeVar("T")
Loader = Callable[[Database, str], None]  # loads the new model under the given name


@dataclass(frozen=True)
class Installed:
    """The live model and how it was checked."""

    name: str
    replaced: bool
    verification: Verification


class _Journal:
    """Undo actions of the steps done so far, run newest first when a later step fails."""

    def __init__(self) -> None:
        self._undo: list[tuple[str, Callable[[], None]]] = []

    def did(self, description: str, undo: Callable[[], None]) -> None:
        self._undo.append((description, undo))

    def roll_back(self) -> list[str]:
        """Run every undo; return what could not be undone (each still describes what is left)."""
        left = []
        for description, undo in reversed(self._undo):
            try:
                undo()
            except Exception as exc:  # noqa: BLE001 - keep undoing: one stuck step must not strand the others
                log.error("rollback step failed: %s (%s)", description, exc)
                left.append(description)
        self._undo.clear()
        return left


def install(database: Database, name: str, load: Loader, *, replace: bool, expected: Expected) -> Installed:
    """Load and verify ``name``; with ``replace`` an existing model is swapped out only once the new one works."""
    exists = _step(lambda: database.model(name), name, "checking for an existing model") is not None
    if exists and not replace:
        raise ModelExistsError(
            f"a model named {name} already exists in this schema", "pass --replace (replace=True) to replace it without loss"
        )
    staged = staging_name() if exists else name
    journal = _Journal()
    try:
        _step(lambda: load(database, staged), name, "loading")  # one DDL call: it creates the model or nothing
        journal.did(f"model {staged} (drop it)", lambda: database.drop(staged))
        verification = _step(lambda: verify(database, staged, expected), name, "verifying")
        if exists:
            retired = staging_name()
            _step(lambda: database.rename(name, retired), name, f"renaming the old {name} aside")
            journal.did(f"old model renamed to {retired} (rename it back to {name})", lambda: database.rename(retired, name))
            _step(lambda: database.rename(staged, name), name, f"renaming the new model to {name}")
            journal.did(f"new model under {name} (rename it to {staged})", lambda: database.rename(name, staged))
            _step(lambda: database.drop(retired), name, "dropping the old model")
    except BaseException as exc:
        left = journal.roll_back()
        if left:
            raise OracleSinkError(
                f"{exc}; rolling back also failed, leaving: {'; '.join(left)}",
                "fix the cause, then do the listed steps with DBMS_VECTOR.DROP_ONNX_MODEL / DBMS_DATA_MINING.RENAME_MODEL",
            ) from exc
        raise
    return Installed(name, exists, verification)


def _step(action: Callable[[], T], model: str, doing: str) -> T:
    """Run one database step; an oracledb error becomes a one-line OracleSinkError naming the step."""
    try:
        return action()
    except oracledb.Error as exc:
        raise explain(exc, model=model, while_doing=doing) from exc
