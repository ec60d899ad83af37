"""Snowflake's arctic-embed v1 / v1.5 models: BERT, CLS pooling then Normalize, BGE's query prompt."""

from __future__ import annotations

from typing import Any

from embedpipe import contract

from embedpipe_presets.facts import BGE_QUERY, ENGLISH, preset


def _arctic(name: str, dim: int, **facts: Any) -> dict[str, Any]:
    # config_sentence_transformers.json declares the query prompt (no default prompt).
    return preset(
        f"Snowflake/{name}",
        sources={"prompts": "config_sentence_transformers.json"},
        max_seq_length=512,
        do_lower_case=True,
        pooling="cls",
        normalize=True,
        prompts={"query": BGE_QUERY},
        languages=ENGLISH,
        _architecture="bert",
        _tokenizer_family=contract.WORDPIECE,
        _embedding_dim=dim,
        **facts,
    )


PRESETS: dict[str, dict[str, Any]] = {
    "Snowflake/snowflake-arctic-embed-xs": _arctic("snowflake-arctic-embed-xs", 384),
    "Snowflake/snowflake-arctic-embed-s": _arctic("snowflake-arctic-embed-s", 384),
    "Snowflake/snowflake-arctic-embed-m": _arctic("snowflake-arctic-embed-m", 768),
    # Trained with Matryoshka loss to keep its quality at 256 dimensions (model card).
    "Snowflake/snowflake-arctic-embed-m-v1.5": _arctic("snowflake-arctic-embed-m-v1.5", 768, _matryoshka_dims=[768, 256]),
}
