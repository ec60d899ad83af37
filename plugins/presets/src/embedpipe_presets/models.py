"""The preconfigured models: config properties plus ``_source``, where each fact comes from.

Keys without a leading underscore are ``ONNXPipelineConfig`` properties; ``_source`` cites the
model card or config file the values were read from.
"""

from __future__ import annotations

from typing import Any

_ST = "sentence-transformers modules.json, 1_Pooling/config.json, sentence_bert_config.json of the hub repository"

PRESETS: dict[str, dict[str, Any]] = {
    "sentence-transformers/all-MiniLM-L6-v2": {
        "max_seq_length": 256, "pooling": "mean", "normalize": True, "distance_metrics": ["COSINE"], "languages": ["en"], "_source": _ST,
    },
    "sentence-transformers/all-MiniLM-L12-v2": {
        "max_seq_length": 256, "pooling": "mean", "normalize": True, "distance_metrics": ["COSINE"], "languages": ["en"], "_source": _ST,
    },
    "sentence-transformers/multi-qa-MiniLM-L6-cos-v1": {
        "max_seq_length": 512, "pooling": "mean", "normalize": True, "distance_metrics": ["COSINE"], "languages": ["en"], "_source": _ST,
    },
    "sentence-transformers/all-mpnet-base-v2": {
        "max_seq_length": 384, "pooling": "mean", "normalize": True, "distance_metrics": ["COSINE"], "languages": ["en"], "_source": _ST,
    },
    "BAAI/bge-small-en-v1.5": {
        "max_seq_length": 512, "pooling": "cls", "normalize": True, "distance_metrics": ["COSINE"], "languages": ["en"], "_source": _ST,
    },
    "intfloat/e5-small-v2": {
        "max_seq_length": 512, "pooling": "mean", "normalize": True, "distance_metrics": ["COSINE"], "languages": ["en"],
        "_source": "model card (mean pooling over last hidden state, then L2 normalize; 512 tokens)",
    },
}
