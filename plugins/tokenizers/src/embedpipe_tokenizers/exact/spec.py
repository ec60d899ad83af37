"""Read a tokenizer.json and decide whether the exact graph can reproduce it.

Only the BERT WordPiece family is accepted (BertNormalizer or none, BertPreTokenizer, WordPiece,
Bert/Roberta/Template post-processor); anything else is refused with a one-line
UnsupportedModelError instead of being approximated.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from embedpipe.errors import ConfigError, ModelSourceError, UnsupportedModelError
from tokenizers import Tokenizer

# The way out of a refusal. FIX: the model is outside the BERT family, which the BertTokenizer op
# refuses too. BERT_OP_FIX: a BERT-family model this graph cannot prove exact, which the op builds
# with its declared, measured differences.
FIX = "use a tokenizer plugin for this model's family"
BERT_OP_FIX = (
    "use the BertTokenizer-op back-end if its measured mismatch rate (docs/tokenizers.md) is acceptable: "
    'tokenizer="bert-op" in the config or --tokenizer bert-op on the CLI'
)


@dataclass(frozen=True)
class AddedToken:
    """An entry of tokenizer.json's ``added_tokens``: matched in the raw text before anything else."""

    content: str
    id: int
    normalized: bool
    lstrip: bool
    rstrip: bool
    single_word: bool


@dataclass(frozen=True)
class WordPieceModel:
    vocab: dict[str, int]
    unk_id: int
    prefix: str
    max_input_chars_per_word: int


@dataclass(frozen=True)
class Template:
    """What the post-processor puts around one sequence: ids and type ids before and after it."""

    prefix_ids: tuple[int, ...]
    prefix_types: tuple[int, ...]
    body_type: int
    suffix_ids: tuple[int, ...]
    suffix_types: tuple[int, ...]

    @property
    def added(self) -> int:
        return len(self.prefix_ids) + len(self.suffix_ids)


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


def parse_template(
    post: dict[str, Any] | None, token_ids: dict[str, int], unsupported: Callable[[str, str], Exception], op_fix: str
) -> Template:
    """The single-sequence part of a Bert/Roberta/Template post-processor (or none). ``unsupported``
    builds the refusal from a reason and a fix; ``op_fix`` is the fix for templates of the family
    that the graph does not reproduce."""
    kind = None if post is None else post.get("type")
    if kind in (None, "ByteLevel"):  # ByteLevel only moves offsets: no token is added
        return Template((), (), 0, (), ())
    if kind in ("BertProcessing", "RobertaProcessing"):
        (_, cls_id), (_, sep_id) = post["cls"], post["sep"]
        return Template((int(cls_id),), (0,), 0, (int(sep_id),), (0,))
    if kind != "TemplateProcessing":
        raise unsupported(f"post-processor {kind!r}", FIX)
    specials = post.get("special_tokens", {})
    before: list[tuple[int, int]] = []
    after: list[tuple[int, int]] = []
    body_type: int | None = None
    for piece in post["single"]:
        if "Sequence" in piece:
            if body_type is not None or piece["Sequence"]["id"] != "A":
                raise unsupported("a single-sequence template with other than one sequence A", op_fix)
            body_type = int(piece["Sequence"]["type_id"])
            continue
        name, type_id = piece["SpecialToken"]["id"], int(piece["SpecialToken"]["type_id"])
        ids = specials[name]["ids"] if name in specials else [token_ids[name]]
        (before if body_type is None else after).extend((int(i), type_id) for i in ids)
    if body_type is None:
        raise unsupported("a single-sequence template without sequence A", op_fix)
    return Template(
        tuple(i for i, _ in before),
        tuple(t for _, t in before),
        body_type,
        tuple(i for i, _ in after),
        tuple(t for _, t in after),
    )


def read_added_tokens(config: dict[str, Any]) -> tuple[AddedToken, ...]:
    return tuple(
        AddedToken(
            t["content"],
            int(t["id"]),
            bool(t.get("normalized", False)),
            bool(t.get("lstrip", False)),
            bool(t.get("rstrip", False)),
            bool(t.get("single_word", False)),
        )
        for t in config.get("added_tokens") or ()
        if t.get("content")
    )


def load_library_tokenizer(config: dict[str, Any], tokenizer_json: Path) -> Tokenizer:
    """The (possibly edited) configuration as the tokenizers library loads it."""
    try:
        return Tokenizer.from_str(json.dumps(config))
    except Exception as error:  # the library's own parse errors carry no type of their own
        raise ModelSourceError(
            f"{tokenizer_json} cannot be read by the tokenizers library ({str(error).splitlines()[0]})",
            "check that the file is a complete tokenizer.json",
        ) from error


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
    template = parse_template(
        config.get("post_processor"), {**vocab, **{t.content: t.id for t in added}}, _unsupported, BERT_OP_FIX
    )
    return TokenizerSpec(tokenizer, wordpiece, added, template)
