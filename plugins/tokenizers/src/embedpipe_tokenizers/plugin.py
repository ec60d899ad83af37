"""Hooks of the first-party tokenizers distribution."""

from __future__ import annotations

from embedpipe import hookimpl
from embedpipe.hookspecs import Register
from embedpipe.source import ModelSource
from embedpipe_tokenizers.wordpiece import BertOpTokenizer, ExactWordPieceTokenizer, is_wordpiece


@hookimpl
def embedpipe_register_tokenizers(register: Register) -> None:
    register("bert", ExactWordPieceTokenizer)
    register("bert-op", BertOpTokenizer)


@hookimpl(trylast=True)
def embedpipe_resolve_tokenizer(source: ModelSource) -> str | None:
    """The exact tokenizer for every WordPiece model; other families are left to other plugins."""
    return "bert" if is_wordpiece(source) else None
