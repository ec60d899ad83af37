"""The parts of a tokenizer.json every exact family reads alike: added tokens, the
single-sequence template, the library's own tokenizer object, and the ways out of a refusal."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from embedpipe.errors import ModelSourceError
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
