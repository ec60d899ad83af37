"""Text classifiers asked for most: sentiment models whose config.json names their labels."""

from __future__ import annotations

from typing import Any

from embedpipe import contract

from embedpipe_presets.facts import head_preset

HEAD_PRESETS: dict[str, dict[str, Any]] = {
    "distilbert/distilbert-base-uncased-finetuned-sst-2-english": head_preset(
        "distilbert/distilbert-base-uncased-finetuned-sst-2-english",
        function=contract.CLASSIFICATION,
        max_seq_length=512,
        do_lower_case=True,
        labels=["NEGATIVE", "POSITIVE"],
        _architecture="distilbert",
        _tokenizer_family=contract.WORDPIECE,
        _num_labels=2,
    ),
    # RoBERTa's byte-level BPE; 514 positions, two of them taken by the padding offset.
    "cardiffnlp/twitter-roberta-base-sentiment-latest": head_preset(
        "cardiffnlp/twitter-roberta-base-sentiment-latest",
        function=contract.CLASSIFICATION,
        max_seq_length=512,
        labels=["negative", "neutral", "positive"],
        _architecture="roberta",
        _tokenizer_family=contract.BPE,
        _num_labels=3,
    ),
}
