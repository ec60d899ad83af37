"""Which built-in tokenizer stage fits a model, from its declared tokenizer class or, when the class
is missing or unknown, from the parts of its tokenizer.json.

Every family gets its exact standard-op builder (``bert``, ``bpe``, ``unigram``); the
extension-op stages (``bert-op``, ``gpt2-op``, ``roberta-op``, ``sentencepiece-op``) stay available
by name, with their declared limitations.
"""

from __future__ import annotations

from embedpipe.source import ModelSource

from embedpipe_tokenizers.wordpiece import is_wordpiece

GPT2_CLASSES = frozenset({"GPT2Tokenizer", "CodeGenTokenizer"})
ROBERTA_CLASSES = frozenset({"RobertaTokenizer", "BartTokenizer", "LongformerTokenizer", "MvpTokenizer"})
# Classes that say nothing about the family (none declared, or transformers' generic fast tokenizer).
GENERIC_CLASSES = frozenset({"", "PreTrainedTokenizer", "TokenizersBackend"})
SENTENCEPIECE_CLASSES = frozenset({"XLMRobertaTokenizer", "T5Tokenizer", "MT5Tokenizer", "UMT5Tokenizer", "CamembertTokenizer"})


def _from_definition(source: ModelSource) -> str | None:
    """The stage for an undeclared or unknown class, by tokenizer.json's model and pre-tokenizer."""
    definition = source.tokenizer_definition
    pre = definition.get("pre_tokenizer") or {}
    if source.tokenizer_model_type == "BPE" and pre.get("type") == "ByteLevel":
        return "bpe"
    if source.tokenizer_model_type == "Unigram":
        return "unigram"
    return None


def family_tokenizer(source: ModelSource) -> str | None:
    """The name of the registered stage for the model's tokenizer family, or None when none fits."""
    if is_wordpiece(source):
        return "bert"
    declared = source.tokenizer_class
    if declared in GPT2_CLASSES or declared in ROBERTA_CLASSES:
        return "bpe"
    if declared in SENTENCEPIECE_CLASSES:
        return "unigram"
    return _from_definition(source) if declared in GENERIC_CLASSES else None
