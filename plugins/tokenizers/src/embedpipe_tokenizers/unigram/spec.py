"""Read a SentencePiece-Unigram tokenizer.json (XLM-R, T5 and their kin) and refuse what the
exact graph cannot reproduce, each with a one-line reason.

Accepted: normalizer Precompiled, optionally followed by Replace(" {2,}", " "); pre-tokenizer
Metaspace (prepend_scheme "always" or "never"), optionally after WhitespaceSplit; model Unigram
with an unk id and no byte fallback (the library always fuses runs of unknown characters); post-processor as the WordPiece graph reads it.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from embedpipe.errors import UnsupportedModelError
from tokenizers import Tokenizer

from embedpipe_tokenizers.toolkit.spec import AddedToken, Template, load_library_tokenizer, parse_template, read_added_tokens

FIX = "use the SentencepieceTokenizer op stage (tokenizer='sentencepiece-op') if its declared mismatches are acceptable"
SPACE_RUNS = " {2,}"
_LIBRARY_SLICE = 25_000  # pieces the library reads at once in library_scores


@dataclass(frozen=True)
class UnigramSpec:
    """The parts of tokenizer.json the graph is built from."""

    charsmap: bytes
    collapse_spaces: bool  # Replace(" {2,}", " ") after the charsmap
    whitespace_split: bool  # WhitespaceSplit before Metaspace
    replacement: str
    prepend: bool
    split: bool
    pieces: dict[str, int]  # piece -> id as the model looks it up (a repeated piece: its last id)
    scores: list[float]  # by id
    unk_id: int
    added_tokens: tuple[AddedToken, ...]
    template: Template


def _unsupported(what: str) -> UnsupportedModelError:
    return UnsupportedModelError(f"the exact Unigram tokenizer cannot reproduce {what}", FIX)


def _normalizer(config: dict[str, Any] | None) -> tuple[bytes, bool]:
    parts = [config] if config and config.get("type") != "Sequence" else (config or {}).get("normalizers", [])
    kinds = [p.get("type") for p in parts]
    if not kinds or kinds[0] != "Precompiled" or len(kinds) > 2:
        raise _unsupported(f"normalizer {kinds or None} (only Precompiled, optionally then Replace(' {{2,}}', ' '))")
    collapse = len(parts) == 2
    if collapse and (
        parts[1].get("type") != "Replace" or parts[1].get("pattern") != {"Regex": SPACE_RUNS} or parts[1].get("content") != " "
    ):
        raise _unsupported(f"normalizer step {parts[1]} (only Replace(' {{2,}}', ' ') after Precompiled)")
    return base64.b64decode(parts[0].get("precompiled_charsmap") or ""), collapse


def _pre_tokenizer(config: dict[str, Any] | None) -> tuple[bool, dict[str, Any]]:
    parts = [config] if config and config.get("type") != "Sequence" else (config or {}).get("pretokenizers", [])
    kinds = [p.get("type") for p in parts]
    if kinds not in (["Metaspace"], ["WhitespaceSplit", "Metaspace"]):
        raise _unsupported(f"pre-tokenizer {kinds or None} (only Metaspace, optionally after WhitespaceSplit)")
    return len(parts) == 2, parts[-1]


class _Number(float):
    """A JSON number that keeps its text, for ``library_scores``."""

    __slots__ = ("text",)
    text: str

    def __new__(cls, text: str) -> _Number:
        number = super().__new__(cls, text)
        number.text = text
        return number


def library_scores(vocab: list[tuple[str, float]]) -> list[float]:
    """The scores as the tokenizers library holds them. Its JSON parser does not always round a
    17-digit decimal to the nearest float64 (20,333 of a real-size vocabulary's float32 scores come
    out one unit in the last place off), and which of two tied paths wins depends on that last bit.
    So the library reads the file's own number texts, a slice of the vocabulary at a time (a
    quarter-million-piece Unigram model costs it some 350 MB at once), and says what it read."""
    scores: list[float] = []
    for first in range(0, len(vocab), _LIBRARY_SLICE):
        part = vocab[first : first + _LIBRARY_SLICE]
        pieces = ",".join(f"[{json.dumps(str(i))},{getattr(score, 'text', repr(score))}]" for i, (_, score) in enumerate(part))
        model = f'{{"type":"Unigram","unk_id":0,"vocab":[{pieces}]}}'
        tokenizer = Tokenizer.from_str(f'{{"version":"1.0","model":{model}}}')
        scores += [float(score) for _, score in json.loads(tokenizer.to_str())["model"]["vocab"]]
    return scores


def read_unigram_spec(tokenizer_json: Path) -> UnigramSpec:
    config = json.loads(Path(tokenizer_json).read_text(encoding="utf-8"), parse_float=_Number)
    model = config.get("model") or {}
    if model.get("type") != "Unigram":
        raise _unsupported(f"model type {model.get('type')!r} (only Unigram)")
    if model.get("byte_fallback"):
        raise _unsupported("byte_fallback (unknown characters as byte pieces)")
    if model.get("unk_id") is None:
        raise _unsupported("a Unigram model without unk_id")
    charsmap, collapse = _normalizer(config.get("normalizer"))
    whitespace_split, metaspace = _pre_tokenizer(config.get("pre_tokenizer"))
    scheme = metaspace.get("prepend_scheme", "always")
    if metaspace.get("add_prefix_space") is False:
        scheme = "never"
    if scheme not in ("always", "never"):
        raise _unsupported(f"Metaspace prepend_scheme {scheme!r} (only 'always' and 'never')")
    vocab = [(str(piece), score) for piece, score in model["vocab"]]
    pieces = {piece: i for i, (piece, _) in enumerate(vocab)}
    unk_id = int(model["unk_id"])
    unk = vocab[unk_id][0]
    min_score = min(score for _, score in vocab)
    if min_score > 10:
        raise _unsupported("a vocabulary whose lowest score is above 10 (fused unknown runs could spell a piece)")
    if any(unk in piece and piece != unk for piece in pieces):
        raise _unsupported(f"a piece holding the unk token {unk!r} inside it")
    added = read_added_tokens(config)
    template = parse_template(config.get("post_processor"), {**pieces, **{t.content: t.id for t in added}}, UnsupportedModelError)
    # The library must read the file, but its own Unigram model of a real vocabulary (a byte trie
    # of 250,002 pieces) costs some 350 MB: it checks everything but the vocabulary, read above.
    load_library_tokenizer({**config, "model": {**model, "vocab": [[unk, 0.0]], "unk_id": 0}}, Path(tokenizer_json))
    return UnigramSpec(
        charsmap, collapse, whitespace_split, str(metaspace.get("replacement", "\u2581")), scheme == "always",
        bool(metaspace.get("split", True)), pieces, library_scores(vocab), unk_id, added, template,
    )  # fmt: skip
