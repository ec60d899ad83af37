"""The parts of a tokenizer.json every exact family reads alike: added tokens, the
single-sequence and pair templates, the library's own tokenizer object, and the ways out of a refusal."""

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


Specials = tuple[tuple[int, int], ...]  # (token id, type id) of special tokens in a row


@dataclass(frozen=True)
class PairTemplate:
    """What the post-processor puts around a pair: specials before A, between A and B and after B,
    and the type id of each sequence's tokens."""

    before: Specials
    first_type: int
    between: Specials
    second_type: int
    after: Specials

    @property
    def added(self) -> int:
        return len(self.before) + len(self.between) + len(self.after)


@dataclass(frozen=True)
class Template:
    """What the post-processor puts around one sequence: ids and type ids before and after it; and
    its pair form, or (``pair`` None) why the graph cannot reproduce it, refused only when a pair
    stage is asked for."""

    prefix_ids: tuple[int, ...]
    prefix_types: tuple[int, ...]
    body_type: int
    suffix_ids: tuple[int, ...]
    suffix_types: tuple[int, ...]
    pair: PairTemplate | None = None
    pair_problem: str = ""

    @property
    def added(self) -> int:
        return len(self.prefix_ids) + len(self.suffix_ids)


def parse_template(
    post: dict[str, Any] | None, token_ids: dict[str, int], unsupported: Callable[[str, str], Exception]
) -> Template:
    """The single-sequence part of a Bert/Roberta/Template post-processor (or none), and its pair
    form. ``unsupported`` builds the refusal from a reason and a fix; the op stages read the
    template here too, so a template refused here has no way out but another tokenizer plugin."""
    kind = None if post is None else post.get("type")
    if kind in (None, "ByteLevel"):  # ByteLevel only moves offsets: no token is added
        return Template((), (), 0, (), (), PairTemplate((), 0, (), 1, ()))  # the library types B 1
    if kind in ("BertProcessing", "RobertaProcessing"):
        (_, cls_id), (_, sep_id) = post["cls"], post["sep"]
        cls, sep = int(cls_id), int(sep_id)
        if kind == "BertProcessing":
            pair = PairTemplate(((cls, 0),), 0, ((sep, 0),), 1, ((sep, 1),))
        else:
            pair = PairTemplate(((cls, 0),), 0, ((sep, 0), (sep, 0)), 0, ((sep, 0),))
        return Template((cls,), (0,), 0, (sep,), (0,), pair)
    if kind != "TemplateProcessing":
        raise unsupported(f"post-processor {kind!r}", FIX)
    specials = post.get("special_tokens", {})

    def special_ids(piece: dict[str, Any]) -> Specials:
        name, type_id = piece["SpecialToken"]["id"], int(piece["SpecialToken"]["type_id"])
        return tuple((int(i), type_id) for i in (specials[name]["ids"] if name in specials else [token_ids[name]]))

    before: list[tuple[int, int]] = []
    after: list[tuple[int, int]] = []
    body_type: int | None = None
    for piece in post["single"]:
        if "Sequence" in piece:
            if body_type is not None or piece["Sequence"]["id"] != "A":
                raise unsupported("a single-sequence template with other than one sequence A", FIX)
            body_type = int(piece["Sequence"]["type_id"])
            continue
        (before if body_type is None else after).extend(special_ids(piece))
    if body_type is None:
        raise unsupported("a single-sequence template without sequence A", FIX)
    pair, problem = _pair_template(post.get("pair") or [], special_ids)
    return Template(
        tuple(i for i, _ in before),
        tuple(t for _, t in before),
        body_type,
        tuple(i for i, _ in after),
        tuple(t for _, t in after),
        pair,
        problem,
    )


def _pair_template(
    pieces: list[dict[str, Any]], special_ids: Callable[[dict[str, Any]], Specials]
) -> tuple[PairTemplate | None, str]:
    """A TemplateProcessing pair list as specials, A, specials, B, specials; else (None, the reason)."""
    runs: list[list[tuple[int, int]]] = [[]]
    sequences: list[tuple[str, int]] = []
    for piece in pieces:
        if "Sequence" in piece:
            sequences.append((piece["Sequence"]["id"], int(piece["Sequence"]["type_id"])))
            runs.append([])
        else:
            runs[-1].extend(special_ids(piece))
    if [name for name, _ in sequences] != ["A", "B"]:
        return None, f"a pair template with sequences {[name for name, _ in sequences]} (the graph needs A then B, once each)"
    (_, first_type), (_, second_type) = sequences
    return PairTemplate(tuple(runs[0]), first_type, tuple(runs[1]), second_type, tuple(runs[2])), ""


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
