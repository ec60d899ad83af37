"""Read a tokenizer.json and decide whether the exact WordPiece graph can reproduce it.

Only the BERT WordPiece family is accepted (BertNormalizer or none, BertPreTokenizer, WordPiece,
Bert/Roberta/Template post-processor); anything else is refused with a one-line
UnsupportedModelError instead of being approximated.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
from embedpipe.errors import ConfigError, UnsupportedModelError
from tokenizers import Tokenizer

from embedpipe_tokenizers.toolkit.pieces import Entry
from embedpipe_tokenizers.toolkit.spec import (
    FIX,
    AddedToken,
    Template,
    load_library_tokenizer,
    parse_template,
    read_added_tokens,
)


@dataclass(frozen=True)
class WordPieceModel:
    vocab: dict[str, int]
    unk_id: int
    prefix: str
    max_input_chars_per_word: int


def matchable_entries(model: WordPieceModel, in_words: np.ndarray, alone: np.ndarray) -> list[Entry]:
    """Vocabulary strings some normalized word can reach (masks over code points say which
    characters can stand in a longer word, or alone); others can never match and are left out."""
    limit = model.max_input_chars_per_word

    def fits(text: str) -> bool:
        return 0 < len(text) <= limit and all(in_words[ord(ch)] for ch in text)

    entries: list[Entry] = []
    for text, token_id in model.vocab.items():
        if (len(text) == 1 and alone[ord(text)]) or fits(text):
            entries.append(Entry(text, False, token_id))
        if text.startswith(model.prefix) and fits(text[len(model.prefix) :]):
            entries.append(Entry(text[len(model.prefix) :], True, token_id))
    return entries


@dataclass(frozen=True)
class TokenizerSpec:
    """The effective tokenizer: the library object the tables are derived from, and its parts."""

    tokenizer: Tokenizer
    model: WordPieceModel
    added_tokens: tuple[AddedToken, ...]
    template: Template


def _unsupported(what: str, fix: str = FIX) -> UnsupportedModelError:
    return UnsupportedModelError(f"the exact WordPiece tokenizer cannot reproduce {what}", fix)


def _check_normalizer(config: dict[str, Any], do_lower_case: bool | None) -> dict[str, Any] | None:
    normalizer = config.get("normalizer")
    if normalizer is None:
        if do_lower_case:
            raise ConfigError(
                "do_lower_case=True needs a BertNormalizer, but tokenizer.json has no normalizer",
                "leave do_lower_case unset for this model",
            )
        return None
    if normalizer.get("type") != "BertNormalizer":
        raise _unsupported(f"normalizer {normalizer.get('type')!r} (only BertNormalizer)")
    normalizer = dict(normalizer)
    if do_lower_case is not None:
        # As Hugging Face does: strip_accents null keeps following the (new) lowercase value.
        normalizer["lowercase"] = bool(do_lower_case)
    return normalizer


def read_spec(tokenizer_json: Path, do_lower_case: bool | None) -> TokenizerSpec:
    """Parse and check ``tokenizer_json``; apply the ``do_lower_case`` override to its normalizer."""
    config = json.loads(Path(tokenizer_json).read_text(encoding="utf-8"))
    model = config.get("model") or {}
    if model.get("type") != "WordPiece":
        raise _unsupported(f"model type {model.get('type')!r} (only WordPiece)")
    pre = config.get("pre_tokenizer")
    if (pre or {}).get("type") != "BertPreTokenizer":
        raise _unsupported(f"pre-tokenizer {(pre or {}).get('type')!r} (only BertPreTokenizer)")
    config["normalizer"] = _check_normalizer(config, do_lower_case)
    # The graph applies its own truncation; padding never applies to one string.
    config["truncation"] = None
    config["padding"] = None

    vocab = {str(k): int(v) for k, v in model["vocab"].items()}
    unk = model.get("unk_token", "[UNK]")
    if unk not in vocab:
        raise _unsupported(f"a WordPiece vocabulary without its unk token {unk!r}")
    wordpiece = WordPieceModel(
        vocab, vocab[unk], model.get("continuing_subword_prefix") or "", int(model.get("max_input_chars_per_word", 100))
    )
    tokenizer = load_library_tokenizer(config, tokenizer_json)
    # The library gives an added token whose id does not fit the vocabulary the next free id
    # (with a warning): take the ids it uses, not the file's.
    library_ids = {t.content: i for i, t in tokenizer.get_added_tokens_decoder().items()}
    added = tuple(replace(t, id=library_ids.get(t.content, t.id)) for t in read_added_tokens(config))
    template = parse_template(config.get("post_processor"), {**vocab, **{t.content: t.id for t in added}}, _unsupported)
    return TokenizerSpec(tokenizer, wordpiece, added, template)
