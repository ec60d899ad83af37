"""Every preset of this distribution, by model name, gathered from the publisher modules: embedding
models in ``PRESETS``, rerankers and classifiers (``HeadPresetSpec``) in ``HEAD_PRESETS``."""

from __future__ import annotations

from typing import Any

from embedpipe_presets.publishers import (
    baai,
    base_encoders,
    classifiers,
    cross_encoder,
    intfloat,
    others,
    sentence_transformers,
    snowflake,
)

_PUBLISHERS = (sentence_transformers, baai, intfloat, snowflake, others, base_encoders)
_HEAD_PUBLISHERS = (cross_encoder, baai, classifiers)

PRESETS: dict[str, dict[str, Any]] = {name: spec for module in _PUBLISHERS for name, spec in module.PRESETS.items()}
HEAD_PRESETS: dict[str, dict[str, Any]] = {
    name: spec for module in _HEAD_PUBLISHERS for name, spec in module.HEAD_PRESETS.items()
}
assert len(PRESETS) == sum(len(m.PRESETS) for m in _PUBLISHERS), "a model appears under two publishers"
assert len(HEAD_PRESETS) == sum(len(m.HEAD_PRESETS) for m in _HEAD_PUBLISHERS), "a model appears under two publishers"
assert not PRESETS.keys() & HEAD_PRESETS.keys(), "a model has both an embedding and a head preset"
