"""Read a byte-level BPE tokenizer.json (GPT2, RoBERTa) and refuse what the exact graph cannot reproduce.

Accepted: no normalizer; the ByteLevel pre-tokenizer (any add_prefix_space, trim_offsets,
use_regex); a BPE model with every byte in its vocabulary and no dropout, byte fallback, word
prefix/suffix or ignore_merges; added tokens that cannot overlap; a post-processor that is none,
ByteLevel, Bert/RobertaProcessing or a TemplateProcessing, alone or in a Sequence with ByteLevel.
Anything else gets a one-line UnsupportedModelError instead of an approximation.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from embedpipe.errors import UnsupportedModelError
from tokenizers import Tokenizer, pre_tokenizers

from embedpipe_tokenizers.toolkit.spec import AddedToken, Template, load_library_tokenizer, parse_template, read_added_tokens
from embedpipe_tokenizers.toolkit.specials import check_added_tokens

GRAPH = "the exact byte-level BPE graph"
# The way out of a refusal: the extension ops (GPT2Tokenizer/RobertaTokenizer) build such models
# with their declared differences, or a plugin of another family.
FIX = "use the GPT2/RoBERTa tokenizer-op back-end if its declared mismatches are acceptable, or a plugin for this model's family"


@dataclass(frozen=True)
class Merges:
    """The merge table as HF's BPE holds it: pair of token ids -> (rank, merged token id); a pair
    listed twice keeps its last rank, as HF's map does."""

    left: np.ndarray
    right: np.ndarray
    rank: np.ndarray
    merged: np.ndarray


@dataclass(frozen=True)
class BpeSpec:
    """The effective byte-level BPE tokenizer and its parts. ``byte_ids`` [256]: the token of each
    byte's ByteLevel character; ``id_bound``: above every token id."""

    tokenizer: Tokenizer
    byte_ids: np.ndarray
    merges: Merges
    id_bound: int
    added_tokens: tuple[AddedToken, ...]
    add_prefix_space: bool
    use_regex: bool
    template: Template


def unsupported(what: str, fix: str = FIX) -> UnsupportedModelError:
    return UnsupportedModelError(f"{GRAPH} cannot reproduce {what}", fix)


def _byte_level(config: dict[str, Any]) -> dict[str, Any]:
    pre = config.get("pre_tokenizer") or {}
    if pre.get("type") == "Sequence" and len(pre.get("pretokenizers", [])) == 1:
        pre = pre["pretokenizers"][0]
    if pre.get("type") != "ByteLevel":
        raise unsupported(f"pre-tokenizer {pre.get('type')!r} (only ByteLevel)")
    return pre


def _check_normalizer(config: dict[str, Any]) -> None:
    normalizer = config.get("normalizer")
    if normalizer is None or (normalizer.get("type") == "Sequence" and not normalizer.get("normalizers")):
        return
    raise unsupported(f"normalizer {normalizer.get('type')!r} (only none: composing normalizers act across characters)")


def _check_model(model: dict[str, Any]) -> None:
    if model.get("type") != "BPE":
        raise unsupported(f"model type {model.get('type')!r} (only BPE)")
    if model.get("dropout") not in (None, 0, 0.0):
        raise unsupported("BPE dropout (random merges)")
    for flag in ("byte_fallback", "ignore_merges"):
        if model.get(flag):
            raise unsupported(f"BPE with {flag}=true")
    for affix in ("continuing_subword_prefix", "end_of_word_suffix"):
        if model.get(affix):
            raise unsupported(f"BPE with a {affix}")


def _post_processor(config: dict[str, Any]) -> dict[str, Any] | None:
    """The post-processor that adds tokens, if any (ByteLevel only moves offsets)."""
    post = config.get("post_processor")
    steps = post.get("processors", []) if post and post.get("type") == "Sequence" else [post] if post else []
    adding = [step for step in steps if step.get("type") != "ByteLevel"]
    if len(adding) > 1:
        raise unsupported("a post-processor Sequence with more than one step adding tokens")
    return adding[0] if adding else None


def _merges(model: dict[str, Any], vocab: dict[str, int]) -> Merges:
    pairs: dict[tuple[int, int], tuple[int, int]] = {}
    for rank, merge in enumerate(model.get("merges") or ()):
        a, b = merge.split(" ", 1) if isinstance(merge, str) else merge
        if a not in vocab or b not in vocab or a + b not in vocab:
            raise unsupported(f"merge {a!r} + {b!r} whose parts or result are not in the vocabulary")
        pairs[(vocab[a], vocab[b])] = (rank, vocab[a + b])
    rows = np.array([[a, b, r, m] for (a, b), (r, m) in pairs.items()], np.int64).reshape(-1, 4)
    merges = Merges(*rows.T)
    _check_merge_order(merges)
    return merges


def _check_merge_order(m: Merges) -> None:
    """The graph merges, per word and round, every occurrence of the word's lowest-ranked pair;
    that equals HF's one-at-a-time priority queue when a merged token only takes part in merges
    ranked after every merge that makes it (true of every trained merge list)."""
    if not len(m.rank):
        return
    made_last = np.full(int(max(m.merged.max(), m.left.max(), m.right.max())) + 1, -1, np.int64)
    np.maximum.at(made_last, m.merged, m.rank)
    early = (made_last[m.left] >= m.rank) | (made_last[m.right] >= m.rank)
    if early.any():
        i = int(np.flatnonzero(early)[0])
        raise unsupported(
            f"merges out of training order (the merge at rank {int(m.rank[i])} uses a token made at the same or a later rank)"
        )


def read_bpe_spec(tokenizer_json: Path) -> BpeSpec:
    """Parse and check ``tokenizer_json``."""
    config = json.loads(Path(tokenizer_json).read_text(encoding="utf-8"))
    model = config.get("model") or {}
    _check_model(model)
    pre = _byte_level(config)
    _check_normalizer(config)
    config["truncation"] = None
    config["padding"] = None
    vocab = {str(k): int(v) for k, v in model["vocab"].items()}
    missing = sorted(set(pre_tokenizers.ByteLevel.alphabet()) - vocab.keys())
    if missing:
        raise unsupported(f"a byte-level vocabulary without the byte character {missing[0]!r} (unknown bytes)")
    added = read_added_tokens(config)
    check_added_tokens(added, graph=GRAPH, fix=FIX, normalized_ok=True)
    template = parse_template(_post_processor(config), {**vocab, **{t.content: t.id for t in added}}, unsupported)
    byte_chars = _byte_chars()
    return BpeSpec(
        tokenizer=load_library_tokenizer(config, Path(tokenizer_json)),
        byte_ids=np.array([vocab[byte_chars[b]] for b in range(256)], np.int64),
        merges=_merges(model, vocab),
        id_bound=max([*vocab.values(), *(t.id for t in added)]) + 1,
        added_tokens=added,
        add_prefix_space=bool(pre.get("add_prefix_space", True)),
        use_regex=bool(pre.get("use_regex", True)),
        template=template,
    )


def _byte_chars() -> list[str]:
    """ByteLevel's character for each byte (GPT-2's bytes_to_unicode: printable Latin-1 bytes stand
    for themselves, the others for 256, 257, ... in order), checked against the library's alphabet
    and its output for every byte a UTF-8 text can hold alone or after 0xC2."""
    printable = [*range(ord("!"), ord("~") + 1), *range(0xA1, 0xAD), *range(0xAE, 0x100)]
    others = [b for b in range(256) if b not in printable]
    chars = {b: chr(b) for b in printable} | {b: chr(256 + n) for n, b in enumerate(others)}
    byte_level = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False)
    asked = {b: byte_level.pre_tokenize_str(chr(b))[0][0] for b in range(128)}
    asked |= {b: byte_level.pre_tokenize_str(chr(b))[0][0][1] for b in range(0x80, 0xC0)}
    if set(chars.values()) != set(pre_tokenizers.ByteLevel.alphabet()) or any(chars[b] != c for b, c in asked.items()):
        raise unsupported("this tokenizers version's ByteLevel byte map (it differs from GPT-2's)")
    return [chars[b] for b in range(256)]
