"""Hooks of the first-party tokenizers distribution: registration and the built-in resolver.

Every command loads this module, so it names the stages by import path and imports the resolver
when a model is resolved: the stages' modules (tokenizers, onnx tables) load only for a build.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from embedpipe import hookimpl
from embedpipe.hookspecs import Register

if TYPE_CHECKING:
    from embedpipe.source import ModelSource


@hookimpl
def embedpipe_register_tokenizers(register: Register) -> None:
    register("bert", "embedpipe_tokenizers.wordpiece:ExactWordPieceTokenizer")
    register("bert-op", "embedpipe_tokenizers.wordpiece:BertOpTokenizer")
    register("gpt2-op", "embedpipe_tokenizers.bpe_op:GPT2OpTokenizer")
    register("roberta-op", "embedpipe_tokenizers.bpe_op:RobertaOpTokenizer")
    register("sentencepiece-op", "embedpipe_tokenizers.sentencepiece_op:SentencepieceOpTokenizer")
    register("unigram", "embedpipe_tokenizers.exact_unigram.component:ExactUnigramTokenizer")
    register("bpe", "embedpipe_tokenizers.exact_bpe.component:ExactBpeTokenizer")


@hookimpl(trylast=True)
def embedpipe_resolve_tokenizer(source: ModelSource) -> str | None:
    """The built-in stage for each family the model's files declare; other tokenizers are left to other plugins."""
    from embedpipe_tokenizers.families import family_tokenizer

    return family_tokenizer(source)
