"""Hooks of the first-party tokenizers distribution: registration and the built-in resolver.

Every command loads this module, so it names the stages by import path and imports the resolver
when a model is resolved: the stages' modules (tokenizers, onnx tables) load only for a build.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from embedpipe import contract, hookimpl
from embedpipe.hookspecs import Register

if TYPE_CHECKING:
    from embedpipe.source import ModelSource


@hookimpl
def embedpipe_register_tokenizers(register: Register) -> None:
    """Each family's exact stage under the family's name (contract.TOKENIZER_FAMILIES), the exact
    WordPiece stage also under its earlier name, and the extension-op stages under their op's."""
    wordpiece = "embedpipe_tokenizers.wordpiece.component:ExactWordPieceTokenizer"
    register(contract.WORDPIECE, wordpiece)
    register("bert", wordpiece)
    register("bert-op", "embedpipe_tokenizers.ops.bert_op:BertOpTokenizer")
    register(contract.BPE, "embedpipe_tokenizers.bpe.component:ExactBpeTokenizer")
    register("gpt2-op", "embedpipe_tokenizers.ops.bpe_op:GPT2OpTokenizer")
    register("roberta-op", "embedpipe_tokenizers.ops.bpe_op:RobertaOpTokenizer")
    register(contract.UNIGRAM, "embedpipe_tokenizers.unigram.component:ExactUnigramTokenizer")
    register("sentencepiece-op", "embedpipe_tokenizers.ops.sentencepiece_op:SentencepieceOpTokenizer")


@hookimpl(trylast=True)
def embedpipe_resolve_tokenizer(source: ModelSource) -> str | None:
    """The built-in stage for each family the model's files declare; other tokenizers are left to other plugins."""
    from embedpipe_tokenizers.families import family_tokenizer

    return family_tokenizer(source)
