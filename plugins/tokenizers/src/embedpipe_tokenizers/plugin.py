"""Hooks of the first-party tokenizers distribution: registration and the built-in resolver."""

from __future__ import annotations

from embedpipe import hookimpl
from embedpipe.hookspecs import Register
from embedpipe.source import ModelSource

from embedpipe_tokenizers.bpe_op import GPT2OpTokenizer, RobertaOpTokenizer
from embedpipe_tokenizers.exact_bpe.component import ExactBpeTokenizer
from embedpipe_tokenizers.exact_unigram.component import ExactUnigramTokenizer
from embedpipe_tokenizers.families import family_tokenizer
from embedpipe_tokenizers.sentencepiece_op import SentencepieceOpTokenizer
from embedpipe_tokenizers.wordpiece import BertOpTokenizer, ExactWordPieceTokenizer


@hookimpl
def embedpipe_register_tokenizers(register: Register) -> None:
    register("bert", ExactWordPieceTokenizer)
    register("bert-op", BertOpTokenizer)
    register("gpt2-op", GPT2OpTokenizer)
    register("roberta-op", RobertaOpTokenizer)
    register("sentencepiece-op", SentencepieceOpTokenizer)
    register("unigram", ExactUnigramTokenizer)
    register("bpe", ExactBpeTokenizer)


@hookimpl(trylast=True)
def embedpipe_resolve_tokenizer(source: ModelSource) -> str | None:
    """The built-in stage for each family the model's files declare; other tokenizers are left to other plugins."""
    return family_tokenizer(source)
