"""Oracle model and directory names: checked before connecting, always sent as bind variables."""

from __future__ import annotations

import re
import secrets

from embedpipe.errors import ConfigError

# Oracle's unquoted identifier: a letter, then letters, digits, _ $ #. Model names stop at 123.
MAX_MODEL_NAME = 123
MAX_DIRECTORY_NAME = 128
_IDENTIFIER = re.compile(r"[A-Za-z][A-Za-z0-9_$#]*")
STAGING_PREFIX = "EMBEDPIPE_STAGE_"


def check_model_name(name: str) -> str:
    """The model name as Oracle stores it (upper case), or a ConfigError saying what rule it breaks."""
    return _identifier(name, "model name", MAX_MODEL_NAME, "e.g. ALL_MINILM_L6_V2 (no schema prefix: connect as the owner)")


def check_directory_name(name: str) -> str:
    """A directory object's name as Oracle stores it (upper case)."""
    return _identifier(name, "directory object name", MAX_DIRECTORY_NAME, "name the directory object, e.g. DM_DUMP, not a path")


def staging_name() -> str:
    """A fresh name for a model that is not yet live (loaded, verified, then renamed into place)."""
    return f"{STAGING_PREFIX}{secrets.token_hex(6).upper()}"


def _identifier(name: str, what: str, limit: int, example: str) -> str:
    if not isinstance(name, str) or not _IDENTIFIER.fullmatch(name) or len(name) > limit:
        raise ConfigError(
            f"{what} {name!r} is not a valid Oracle identifier",
            f"start with a letter, then use only letters, digits, '_', '$' or '#', at most {limit} characters; {example}",
        )
    return name.upper()
