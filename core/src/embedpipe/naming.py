"""Export names: checked before any work starts, so a bad name never costs a conversion."""

from __future__ import annotations

import re

from embedpipe.errors import ConfigError

_EXPORT_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.\-]{0,199}")


def check_export_name(name: str) -> str:
    """A file-safe export name: letters, digits, ``_ . -``, not starting with a dot, no path parts."""
    if not isinstance(name, str) or not _EXPORT_NAME.fullmatch(name) or name.endswith("."):
        raise ConfigError(
            f"export name {name!r} is not a plain file name",
            "use letters, digits, '_', '.' or '-' (no path separators), e.g. all_minilm_l6_v2",
        )
    return name
