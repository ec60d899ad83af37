"""Typed errors: every failure a user can cause says what is wrong and how to fix it, in one line."""

from __future__ import annotations


class EmbedpipeError(Exception):
    """Base of every error embedpipe raises on purpose.

    ``problem`` says what is wrong, ``fix`` what the user should do; ``str()`` joins them into
    the one line the CLI prints.
    """

    def __init__(self, problem: str, fix: str = "") -> None:
        self.problem = problem
        self.fix = fix
        super().__init__(f"{problem}; {fix}" if fix else problem)


class ModelSourceError(EmbedpipeError):
    """The model id or folder cannot be found, read or trusted."""


class UnsupportedModelError(EmbedpipeError):
    """The model's tokenizer class or architecture has no installed plugin."""


class ConfigError(EmbedpipeError):
    """A configuration value is missing, unknown or impossible."""


class PluginError(EmbedpipeError):
    """A plugin failed to load, or two plugins registered the same name."""


class ExportError(EmbedpipeError):
    """Building, checking or writing the graph failed."""


class ValidationError(ExportError):
    """The graph's vectors differ from the reference model's beyond the allowed tolerance."""
