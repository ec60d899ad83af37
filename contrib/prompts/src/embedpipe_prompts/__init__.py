"""Bake a sentence-transformers prompt into the graph.

The plugin only decides *which* text goes before every input; the tokenizer stage puts it there
(``TokenizerOptions.prefix``), because no operator that Oracle's 23ai runtime accepts can join
strings. Resolution follows ``SentenceTransformer.encode``: an explicit prompt, else a named one,
else the model's default; named prompts come from the config, over the model's own
``config_sentence_transformers.json``, over the preset.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from embedpipe import hookimpl
from embedpipe.config import ONNXPipelineConfig
from embedpipe.errors import ConfigError, ModelSourceError
from embedpipe.source import ModelSource

log = logging.getLogger(__name__)
DECLARATION = "config_sentence_transformers.json"


def declared(source: ModelSource) -> dict[str, Any]:
    """The prompts and default prompt name the model's own files declare."""
    path = source.path / DECLARATION
    if not path.is_file():
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ModelSourceError(f"{path} is not valid JSON ({exc})", "re-download the model") from exc
    return {key: data[key] for key in ("prompts", "default_prompt_name") if data.get(key)}


def resolve_prompt(source: ModelSource, config: ONNXPipelineConfig) -> str | None:
    """The prompt ``SentenceTransformer.encode`` would use for this model and configuration."""
    own = declared(source)
    prompts = {**config.preset.get("prompts", {}), **own.get("prompts", {}), **(config.prompts or {})}
    if config.prompt is not None:
        if config.prompt_name is not None:
            log.warning("both prompt and prompt_name are set; using prompt, as sentence-transformers does")
        return config.prompt
    if config.prompt_name is not None:
        if config.prompt_name not in prompts:
            known = ", ".join(sorted(prompts)) or "none"
            raise ConfigError(
                f"prompt_name {config.prompt_name!r} is not one of {source.name}'s prompts (known: {known})",
                "use one of those names, or give the text itself as prompt",
            )
        return prompts[config.prompt_name]
    default = config.default_prompt_name or own.get("default_prompt_name") or config.preset.get("default_prompt_name")
    return prompts.get(default) if default else None


@hookimpl
def embedpipe_text_prefix(source: ModelSource, config: ONNXPipelineConfig) -> str | None:
    return resolve_prompt(source, config) or None
