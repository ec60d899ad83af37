"""sentence-transformers' own models on OML4Py's list, plus the small multilingual one users ask for."""

from __future__ import annotations

from typing import Any

from embedpipe import contract

from embedpipe_presets.facts import ENGLISH, PARAPHRASE_LANGUAGES, XLMR_CARD, XLMR_LANGUAGES, preset

_ORG = "sentence-transformers"


def _english_minilm(name: str, max_seq_length: int) -> dict[str, Any]:
    return preset(
        f"{_ORG}/{name}",
        max_seq_length=max_seq_length,
        do_lower_case=True,
        pooling="mean",
        normalize=True,
        languages=ENGLISH,
        _architecture="bert",
        _tokenizer_family=contract.WORDPIECE,
        _embedding_dim=384,
    )


def _paraphrase(name: str, architecture: str, dim: int, **facts: Any) -> dict[str, Any]:
    """The multilingual distillations: 128 tokens, mean pooling, no Normalize."""
    return preset(
        f"{_ORG}/{name}",
        max_seq_length=128,
        pooling="mean",
        normalize=False,
        languages=PARAPHRASE_LANGUAGES,
        _architecture=architecture,
        _embedding_dim=dim,
        **facts,
    )


PRESETS: dict[str, dict[str, Any]] = {
    f"{_ORG}/all-MiniLM-L6-v2": _english_minilm("all-MiniLM-L6-v2", 256),
    f"{_ORG}/all-MiniLM-L12-v2": _english_minilm("all-MiniLM-L12-v2", 256),
    f"{_ORG}/multi-qa-MiniLM-L6-cos-v1": _english_minilm("multi-qa-MiniLM-L6-cos-v1", 512),
    f"{_ORG}/all-mpnet-base-v2": preset(
        f"{_ORG}/all-mpnet-base-v2",
        max_seq_length=384,
        do_lower_case=True,
        pooling="mean",
        normalize=True,
        languages=ENGLISH,
        _architecture="mpnet",
        _tokenizer_family=contract.WORDPIECE,
        _embedding_dim=768,
    ),
    # DistilBERT multilingual cased, then Dense 768 -> 512 with Tanh (2_Dense/config.json).
    f"{_ORG}/distiluse-base-multilingual-cased-v2": _paraphrase(
        "distiluse-base-multilingual-cased-v2",
        "distilbert",
        512,
        do_lower_case=False,
        _tokenizer_family=contract.WORDPIECE,
        _dense=[{"in_features": 768, "out_features": 512, "activation_function": "torch.nn.modules.activation.Tanh"}],
    ),
    f"{_ORG}/paraphrase-multilingual-mpnet-base-v2": _paraphrase(
        "paraphrase-multilingual-mpnet-base-v2", "xlm-roberta", 768, _tokenizer_family=contract.UNIGRAM
    ),
    # A BertModel under XLM-R's SentencePiece tokenizer (Multilingual-MiniLM).
    f"{_ORG}/paraphrase-multilingual-MiniLM-L12-v2": _paraphrase(
        "paraphrase-multilingual-MiniLM-L12-v2", "bert", 384, _tokenizer_family=contract.UNIGRAM
    ),
    f"{_ORG}/stsb-xlm-r-multilingual": preset(
        f"{_ORG}/stsb-xlm-r-multilingual",
        sources={"languages": XLMR_CARD},
        max_seq_length=128,
        pooling="mean",
        normalize=False,
        languages=XLMR_LANGUAGES,
        _architecture="xlm-roberta",
        _tokenizer_family=contract.UNIGRAM,
        _embedding_dim=768,
    ),
}
