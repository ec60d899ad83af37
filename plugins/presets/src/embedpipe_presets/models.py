"""Every preset of this distribution, by model name, gathered from the publisher modules."""

from __future__ import annotations

from typing import Any

from embedpipe_presets.publishers import baai, base_encoders, intfloat, others, sentence_transformers, snowflake

_PUBLISHERS = (sentence_transformers, baai, intfloat, snowflake, others, base_encoders)

PRESETS: dict[str, dict[str, Any]] = {name: spec for module in _PUBLISHERS for name, spec in module.PRESETS.items()}
assert len(PRESETS) == sum(len(m.PRESETS) for m in _PUBLISHERS), "a model appears under two publishers"
