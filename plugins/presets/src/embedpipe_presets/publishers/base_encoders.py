"""Plain transformers encoders on OML4Py's 2.0 list (no sentence-transformers files).

Their repositories declare only the encoder, so pooling and normalization are OML4Py's text
template (mean, then Normalize) and the length is the encoder's position limit.
"""

from __future__ import annotations

from typing import Any

from embedpipe import contract

from embedpipe_presets.facts import ENGLISH, PLAIN_FILES, preset


def _plain(repo: str, **facts: Any) -> dict[str, Any]:
    return preset(repo, files=PLAIN_FILES, max_seq_length=512, pooling="mean", normalize=True, **facts)


PRESETS: dict[str, dict[str, Any]] = {
    "prajjwal1/bert-tiny": _plain(
        "prajjwal1/bert-tiny",
        do_lower_case=True,
        languages=ENGLISH,
        _architecture="bert",
        _tokenizer_family=contract.WORDPIECE,
        _embedding_dim=128,
    ),
    "ProsusAI/finbert": _plain(
        "ProsusAI/finbert",
        do_lower_case=True,
        languages=ENGLISH,
        _architecture="bert",
        _tokenizer_family=contract.WORDPIECE,
        _embedding_dim=768,
    ),
    # DistilBERT initialised from the multilingual cased checkpoint (119,547-token cased vocabulary).
    "medicalai/ClinicalBERT": _plain(
        "medicalai/ClinicalBERT",
        sources={"languages": "config.json"},
        do_lower_case=False,
        languages=["multilingual"],
        _architecture="distilbert",
        _tokenizer_family=contract.WORDPIECE,
        _embedding_dim=768,
    ),
    # RoBERTa's byte-level BPE; 514 positions, two of them taken by the padding offset.
    "microsoft/codebert-base": _plain(
        "microsoft/codebert-base", languages=ENGLISH, _architecture="roberta", _tokenizer_family=contract.BPE, _embedding_dim=768
    ),
}
