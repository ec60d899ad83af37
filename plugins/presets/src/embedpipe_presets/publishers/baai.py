"""BAAI's BGE models: CLS pooling then Normalize; the English ones take a query instruction. Its
rerankers are XLM-R cross-encoders with one label."""

from __future__ import annotations

from typing import Any

from embedpipe import contract

from embedpipe_presets.facts import BGE_QUERY, ENGLISH, XLMR_CARD, XLMR_LANGUAGES, head_preset, preset


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


def _reranker(name: str, max_seq_length: int) -> dict[str, Any]:
    """config.json's positions less XLM-R's padding offset of 2 (514 -> 512; v2-m3, from bge-m3: 8194 -> 8192)."""
    return head_preset(
        f"BAAI/{name}",
        function=contract.REGRESSION,
        max_seq_length=max_seq_length,
        _architecture="xlm-roberta",
        _tokenizer_family=contract.UNIGRAM,
        _num_labels=1,
    )


HEAD_PRESETS: dict[str, dict[str, Any]] = {
    "BAAI/bge-reranker-base": _reranker("bge-reranker-base", 512),
    "BAAI/bge-reranker-large": _reranker("bge-reranker-large", 512),
    "BAAI/bge-reranker-v2-m3": _reranker("bge-reranker-v2-m3", 8192),
}
