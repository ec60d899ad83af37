"""BAAI's BGE models: CLS pooling then Normalize; the English ones take a query instruction."""

from __future__ import annotations

from typing import Any

from embedpipe import contract

from embedpipe_presets.facts import BGE_QUERY, ENGLISH, XLMR_CARD, XLMR_LANGUAGES, preset


def _bge_en(size: str, dim: int) -> dict[str, Any]:
    return preset(
        f"BAAI/bge-{size}-en-v1.5",
        max_seq_length=512,
        do_lower_case=True,
        pooling="cls",
        normalize=True,
        prompts={"query": BGE_QUERY},
        languages=ENGLISH,
        _architecture="bert",
        _tokenizer_family=contract.WORDPIECE,
        _embedding_dim=dim,
    )


PRESETS: dict[str, dict[str, Any]] = {
    "BAAI/bge-small-en-v1.5": _bge_en("small", 384),
    "BAAI/bge-base-en-v1.5": _bge_en("base", 768),
    "BAAI/bge-large-en-v1.5": _bge_en("large", 1024),
    # Multilingual, 8192 tokens, no instruction (model card); XLM-R's languages.
    "BAAI/bge-m3": preset(
        "BAAI/bge-m3",
        sources={"languages": XLMR_CARD},
        max_seq_length=8192,
        pooling="cls",
        normalize=True,
        languages=XLMR_LANGUAGES,
        _architecture="xlm-roberta",
        _tokenizer_family=contract.UNIGRAM,
        _embedding_dim=1024,
    ),
}
