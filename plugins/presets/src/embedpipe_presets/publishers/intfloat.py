"""intfloat's E5 models: mean pooling then Normalize; inputs start with "query: " or "passage: " (model cards)."""

from __future__ import annotations

from typing import Any

from embedpipe import contract

from embedpipe_presets.facts import E5_PROMPTS, ENGLISH, XLMR_CARD, XLMR_LANGUAGES, preset


def _e5(name: str, dim: int, **facts: Any) -> dict[str, Any]:
    return preset(
        f"intfloat/{name}",
        max_seq_length=512,
        pooling="mean",
        normalize=True,
        prompts=E5_PROMPTS,
        _embedding_dim=dim,
        **facts,
    )


def _multilingual(name: str, architecture: str, dim: int) -> dict[str, Any]:
    # multilingual-e5-small is a BertModel (Multilingual-MiniLM) under XLM-R's tokenizer.
    return _e5(
        name,
        dim,
        sources={"languages": XLMR_CARD},
        languages=XLMR_LANGUAGES,
        _architecture=architecture,
        _tokenizer_family=contract.UNIGRAM,
    )


PRESETS: dict[str, dict[str, Any]] = {
    "intfloat/e5-small-v2": _e5(
        "e5-small-v2", 384, do_lower_case=True, languages=ENGLISH, _architecture="bert", _tokenizer_family=contract.WORDPIECE
    ),
    "intfloat/e5-base-v2": _e5(
        "e5-base-v2", 768, do_lower_case=True, languages=ENGLISH, _architecture="bert", _tokenizer_family=contract.WORDPIECE
    ),
    "intfloat/multilingual-e5-small": _multilingual("multilingual-e5-small", "bert", 384),
    "intfloat/multilingual-e5-base": _multilingual("multilingual-e5-base", "xlm-roberta", 768),
    "intfloat/multilingual-e5-large": _multilingual("multilingual-e5-large", "xlm-roberta", 1024),
}
