"""Builds a preset from a model's facts, citing for each the file of the repository that states it.

A sentence-transformers repository states pooling in ``1_Pooling/config.json``, the module chain in
``modules.json``, the length in ``sentence_bert_config.json`` and so on (``ST_FILES``). A plain
transformers repository (``PLAIN_FILES``) states only the encoder: its pooling and normalization
are the OML4Py text template's, which is what OML4Py's preset for such a model amounts to.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from embedpipe_presets.schema import ANY_VECTOR_METRICS, UNIT_VECTOR_METRICS

HUB = "https://huggingface.co"
OML4PY_TEXT_TEMPLATE = (
    "https://docs.oracle.com/en/database/oracle/machine-learning/oml4py/ "
    "(Convert Pretrained Models to ONNX Format: the text template is mean pooling then Normalize)"
)
CARD = ""  # in a layout: the model card (README.md) itself

ST_FILES: Mapping[str, str] = {
    "max_seq_length": "sentence_bert_config.json",
    "pooling": "1_Pooling/config.json",
    "normalize": "modules.json",
    "do_lower_case": "tokenizer_config.json",
    "prompts": CARD,
    "languages": CARD,
    "distance_metrics": CARD,
    "_architecture": "config.json",
    "_tokenizer_family": "tokenizer_config.json",
    "_embedding_dim": "1_Pooling/config.json",
    "_dense": "2_Dense/config.json",
    "_matryoshka_dims": CARD,
    "_remote_code": "config.json",
}
# A sequence classifier's repository: config.json names the architecture, its labels (id2label)
# and its positions; the tokenizer's settings are in tokenizer_config.json.
HEAD_FILES: Mapping[str, str] = {
    "function": "config.json",  # architectures *ForSequenceClassification, and the label count
    "max_seq_length": "config.json",  # max_position_embeddings (less RoBERTa's padding offset of 2)
    "do_lower_case": "tokenizer_config.json",
    "labels": "config.json",
    "_architecture": "config.json",
    "_tokenizer_family": "tokenizer_config.json",
    "_num_labels": "config.json",
}
PLAIN_FILES: Mapping[str, str] = {
    **ST_FILES,
    "max_seq_length": "config.json",  # max_position_embeddings
    "_embedding_dim": "config.json",  # hidden_size
    "pooling": OML4PY_TEXT_TEMPLATE,
    "normalize": OML4PY_TEXT_TEMPLATE,
}

# Prompts the model cards give; the cards apply them by task, so no preset names a default prompt.
BGE_QUERY = "Represent this sentence for searching relevant passages: "
E5_PROMPTS = {"query": "query: ", "passage": "passage: "}
ENGLISH = ["en"]
# The language list of the paraphrase-multilingual / distiluse-multilingual model cards (the
# languages of their parallel training data), regional variants folded into the language.
PARAPHRASE_LANGUAGES = [
    "ar",
    "bg",
    "ca",
    "cs",
    "da",
    "de",
    "el",
    "en",
    "es",
    "et",
    "fa",
    "fi",
    "fr",
    "gl",
    "gu",
    "he",
    "hi",
    "hr",
    "hu",
    "hy",
    "id",
    "it",
    "ja",
    "ka",
    "ko",
    "ku",
    "lt",
    "lv",
    "mk",
    "mn",
    "mr",
    "ms",
    "my",
    "nb",
    "nl",
    "pl",
    "pt",
    "ro",
    "ru",
    "sk",
    "sl",
    "sq",
    "sr",
    "sv",
    "th",
    "tr",
    "uk",
    "ur",
    "vi",
    "zh",
]
# XLM-RoBERTa's CC-100 pre-training languages, as the xlm-roberta-base model card lists them.
XLMR_LANGUAGES = [
    "af",
    "am",
    "ar",
    "as",
    "az",
    "be",
    "bg",
    "bn",
    "br",
    "bs",
    "ca",
    "cs",
    "cy",
    "da",
    "de",
    "el",
    "en",
    "eo",
    "es",
    "et",
    "eu",
    "fa",
    "fi",
    "fr",
    "fy",
    "ga",
    "gd",
    "gl",
    "gu",
    "ha",
    "he",
    "hi",
    "hr",
    "hu",
    "hy",
    "id",
    "is",
    "it",
    "ja",
    "jv",
    "ka",
    "kk",
    "km",
    "kn",
    "ko",
    "ku",
    "ky",
    "la",
    "lo",
    "lt",
    "lv",
    "mg",
    "mk",
    "ml",
    "mn",
    "mr",
    "ms",
    "my",
    "ne",
    "nl",
    "no",
    "om",
    "or",
    "pa",
    "pl",
    "ps",
    "pt",
    "ro",
    "ru",
    "sa",
    "sd",
    "si",
    "sk",
    "sl",
    "so",
    "sq",
    "sr",
    "su",
    "sv",
    "sw",
    "ta",
    "te",
    "th",
    "tl",
    "tr",
    "ug",
    "uk",
    "ur",
    "uz",
    "vi",
    "xh",
    "yi",
    "zh",
]
XLMR_CARD = f"{HUB}/FacebookAI/xlm-roberta-base"


def hub_file(repo: str, path: str) -> str:
    """The address of ``path`` in the hub repository ``repo`` (its model card for ``CARD``)."""
    return f"{HUB}/{repo}" if path == CARD else path if path.startswith("https://") else f"{HUB}/{repo}/blob/main/{path}"


def preset(
    repo: str, *, files: Mapping[str, str] = ST_FILES, sources: Mapping[str, str] | None = None, **facts: Any
) -> dict[str, Any]:
    """``facts`` plus the metrics their normalization allows, each cited.

    ``sources`` overrides the citation of single facts (a full address, or a path in ``repo``).
    """
    facts.setdefault("distance_metrics", list(UNIT_VECTOR_METRICS if facts["normalize"] else ANY_VECTOR_METRICS))
    return _cited(repo, {**files, **(sources or {})}, facts)


def head_preset(repo: str, *, sources: Mapping[str, str] | None = None, **facts: Any) -> dict[str, Any]:
    """A reranker's or classifier's ``facts``, each cited (``HEAD_FILES``, ``sources`` as in ``preset``)."""
    return _cited(repo, {**HEAD_FILES, **(sources or {})}, facts)


def _cited(repo: str, where: Mapping[str, str], facts: dict[str, Any]) -> dict[str, Any]:
    return {**facts, "_source": {key: hub_file(repo, where[key]) for key in facts}}
