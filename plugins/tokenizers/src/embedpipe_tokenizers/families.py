"""Which built-in tokenizer stage fits a model, from its declared tokenizer class or, when the class
is missing or unknown, from the parts of its tokenizer.json.

Every family gets its exact standard-op stage, registered under the family's name
(``contract.TOKENIZER_FAMILIES``: ``wordpiece``, ``bpe``, ``unigram``); the extension-op stages
(``bert-op``, ``gpt2-op``, ``roberta-op``, ``sentencepiece-op``) stay available by name, with their
declared limitations.
"""

from __future__ import annotations

from embedpipe import contract
from embedpipe.source import ModelSource

GPT2_CLASSES = frozenset({"GPT2Tokenizer", "CodeGenTokenizer"})
ROBERTA_CLASSES = frozenset({"RobertaTokenizer", "BartTokenizer", "LongformerTokenizer", "MvpTokenizer"})
# Tokenizer classes whose Hugging Face tokenizer is BERT's WordPiece with a BertNormalizer.
WORDPIECE_CLASSES = frozenset(
    {"BertTokenizer", "DistilBertTokenizer", "MPNetTokenizer", "ElectraTokenizer", "MobileBertTokenizer", "SqueezeBertTokenizer", "LayoutLMTokenizer"}
)
# Classes that say nothing about the family (none declared, or transformers' generic fast tokenizer).
GENERIC_CLASSES = frozenset({"", "PreTrainedTokenizer", "TokenizersBackend"})
SENTENCEPIECE_CLASSES = frozenset({"XLMRobertaTokenizer", "T5Tokenizer", "MT5Tokenizer", "UMT5Tokenizer", "CamembertTokenizer"})


def is_wordpiece(source: ModelSource) -> bool:
    """True when the model's own tokenizer files declare WordPiece."""
    return source.tokenizer_model_type == "WordPiece" or source.tokenizer_class in WORDPIECE_CLASSES


def _from_definition(source: ModelSource) -> str | None:
    """The stage for an undeclared or unknown class, by tokenizer.json's model and pre-tokenizer."""
    definition = source.tokenizer_definition
    pre = definition.get("pre_tokenizer") or {}
    if source.tokenizer_model_type == "BPE" and pre.get("type") == "ByteLevel":
        return contract.BPE
    if source.tokenizer_model_type == "Unigram":
        return contract.UNIGRAM
    return None


def family_tokenizer(source: ModelSource) -> str | None:
    """The model's tokenizer family, which names its exact stage, or None when none fits."""
    if is_wordpiece(source):
        return contract.WORDPIECE
    declared = source.tokenizer_class
    if declared in GPT2_CLASSES or declared in ROBERTA_CLASSES:
        return contract.BPE
    if declared in SENTENCEPIECE_CLASSES:
        return contract.UNIGRAM
    return _from_definition(source) if declared in GENERIC_CLASSES else None
