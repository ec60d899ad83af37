"""Tokenizer stage on onnxruntime-extensions' ``BertTokenizer`` op, configured as Hugging Face behaves.

Oracle accepts this op (the one custom op family it allows), and it is fast, but it is not exact
on every input: ``LIMITATIONS`` lists the input classes where its ids can differ from Hugging
Face's, with the rates measured on tests/data/real_text.txt. Everything is read from the
tokenizer files (tokenizer.json, else vocab.txt + tokenizer_config.json), never from
transformers' objects, whose internals change between releases.

Behaviour of the op, measured with extensions 0.10.1, 0.12.0 and 0.15.2 (same in all three
unless noted): attributes ``vocab_file`` (the vocabulary, one token per line, id = line),
``do_lower_case``, ``strip_accents``, ``tokenize_chinese_chars``, ``suffix_indicator`` and five
special tokens (``unk/cls/sep/pad/mask_token``) that must all be in the vocabulary or the session
fails to load. It always wraps the text in cls ... sep, never truncates unless told, applies
WordPiece's 100-character word limit like Hugging Face, does not match special tokens typed in
the text, and reads the string only up to the first NUL. ``strip_accents`` defaults to off,
whereas Hugging Face strips accents whenever it lower-cases and ``strip_accents`` is unset.
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import onnx
from embedpipe import contract
from embedpipe.components import Limitation, TokenizerOptions
from embedpipe.errors import UnsupportedModelError
from embedpipe.source import ModelSource
from embedpipe_tokenizers.ops.op_limits import refuse_what_ops_cannot
from embedpipe_tokenizers.ops.op_stage import (
    build_op_pair_stage,
    build_op_stage,
    check_opset,
    op_stage_ids,
    pair_template,
    special_ids,
    token_content,
)
from embedpipe_tokenizers.toolkit.graph import GraphBuilder
from embedpipe_tokenizers.toolkit.spec import Template

FIX = "use the exact WordPiece tokenizer, or a tokenizer plugin for this model's family"


@dataclass(frozen=True)
class WordPieceSpec:
    """What the op and the truncation around it need, as the tokenizer files declare it."""

    vocab: tuple[str, ...]  # token of each id
    unk_token: str
    cls_token: str  # token the op wraps the text with (replaced by prefix_ids/suffix_ids)
    sep_token: str
    prefix_ids: tuple[int, ...]  # special ids Hugging Face puts before the text
    suffix_ids: tuple[int, ...]  # ... and after it
    lowercase: bool
    strip_accents: bool | None  # None: strip when lower-casing, as Hugging Face does
    chinese_chars: bool
    suffix_indicator: str
    template: Template | None  # with the pair form; None when read from vocab.txt


def _vocab_list(vocab: dict[str, int]) -> tuple[str, ...]:
    """The vocabulary in id order; the op numbers tokens by line, so ids must be 0..n-1."""
    tokens = sorted(vocab, key=vocab.__getitem__)
    if [vocab[t] for t in tokens] != list(range(len(tokens))):
        raise UnsupportedModelError("the WordPiece vocabulary's ids are not 0..n-1 without gaps or repeats", FIX)
    if any("\n" in token for token in tokens):
        raise UnsupportedModelError("a vocabulary token contains a newline, which the op reads as two tokens", FIX)
    return tuple(tokens)


def _from_tokenizer_json(path: Path) -> WordPieceSpec:
    data = json.loads(path.read_text(encoding="utf-8"))
    model = data.get("model") or {}
    if model.get("type") != "WordPiece":
        raise UnsupportedModelError(f"{path} holds a {model.get('type')} tokenizer, not WordPiece", FIX)
    norm = data.get("normalizer") or {}
    if norm.get("type") != "BertNormalizer" or not norm.get("clean_text", True):
        raise UnsupportedModelError(f"normalizer {norm.get('type')} is not one the BertTokenizer op runs", FIX)
    if (data.get("pre_tokenizer") or {}).get("type") != "BertPreTokenizer":
        raise UnsupportedModelError("pre-tokenizer is not BertPreTokenizer, which the op hard-wires", FIX)
    vocab = model["vocab"]
    before, after = special_ids(data.get("post_processor"), vocab, FIX)
    tokens = _vocab_list(vocab)
    unk = model.get("unk_token", "[UNK]")

    def op_token(ids: list[int], index: int) -> str:
        """The op needs a vocabulary token to wrap with; ours replace it, so unk serves when none fits."""
        return tokens[ids[index]] if ids and ids[index] < len(tokens) else unk

    return WordPieceSpec(
        vocab=tokens,
        unk_token=unk,
        cls_token=op_token(before, 0),
        sep_token=op_token(after, -1),
        prefix_ids=tuple(before),
        suffix_ids=tuple(after),
        lowercase=bool(norm.get("lowercase", True)),
        strip_accents=norm.get("strip_accents"),
        chinese_chars=bool(norm.get("handle_chinese_chars", True)),
        suffix_indicator=model.get("continuing_subword_prefix", "##"),
        template=pair_template(data.get("post_processor"), vocab, FIX),
    )


def _from_vocab_txt(folder: Path) -> WordPieceSpec:
    config_path = folder / "tokenizer_config.json"
    config = json.loads(config_path.read_text(encoding="utf-8")) if config_path.is_file() else {}
    lines = (folder / "vocab.txt").read_text(encoding="utf-8").split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    vocab = {token: i for i, token in enumerate(lines)}
    mpnet = "MPNet" in str(config.get("tokenizer_class", ""))
    cls = token_content(config.get("cls_token")) or ("<s>" if mpnet else "[CLS]")
    sep = token_content(config.get("sep_token")) or ("</s>" if mpnet else "[SEP]")
    for name in (cls, sep):
        if name not in vocab:
            raise UnsupportedModelError(f"special token {name!r} is not in {folder / 'vocab.txt'}", FIX)
    return WordPieceSpec(
        vocab=_vocab_list(vocab),
        unk_token=token_content(config.get("unk_token")) or ("<unk>" if mpnet else "[UNK]"),
        cls_token=cls,
        sep_token=sep,
        prefix_ids=(vocab[cls],),
        suffix_ids=(vocab[sep],),
        lowercase=bool(config.get("do_lower_case", True)),
        strip_accents=config.get("strip_accents"),
        chinese_chars=bool(config.get("tokenize_chinese_chars", True)),
        suffix_indicator="##",
        template=None,
    )


def read_wordpiece(folder: Path) -> WordPieceSpec:
    """The WordPiece tokenizer declared in ``folder``; UnsupportedModelError if it is anything else."""
    if (folder / "tokenizer.json").is_file():
        return _from_tokenizer_json(folder / "tokenizer.json")
    if (folder / "vocab.txt").is_file():
        return _from_vocab_txt(folder)
    raise UnsupportedModelError(f"{folder} has neither tokenizer.json nor vocab.txt: not a WordPiece tokenizer", FIX)


def build_bert_op_graph(
    folder: Path,
    max_length: int,
    *,
    with_token_type_ids: bool,
    do_lower_case: bool | None = None,
    opset: int = contract.DEFAULT_OPSET,
    pair: bool = False,
) -> onnx.ModelProto:
    """The tokenizer stage: ``input`` string [1] -> int64 [1, S] ids, mask (and token types).

    The op tokenizes the whole text and wraps it in cls ... sep; the standard ops around it replace
    those with the model's own specials and truncate as Hugging Face does (``op_stage``).
    ``pair``: ``first_input`` and ``second_input`` instead, encoded as Hugging Face encodes a pair.
    """
    spec = read_wordpiece(Path(folder))
    check_opset(opset)
    lowercase = spec.lowercase if do_lower_case is None else do_lower_case
    strip = lowercase if spec.strip_accents is None else spec.strip_accents
    if spec.unk_token not in spec.vocab:
        raise UnsupportedModelError(f"unknown-token {spec.unk_token!r} is not in the vocabulary", FIX)

    def op_ids(g: GraphBuilder, text: str) -> str:
        # The op must be given all three of its outputs: with ids alone the session crashes (all versions).
        ids, _, _ = g.ops(
            "BertTokenizer", text, outputs=3, hint="bert_tokenizer", domain=contract.EXTENSIONS_DOMAIN,
            vocab_file="\n".join(spec.vocab),
            do_lower_case=int(lowercase),
            strip_accents=int(strip),
            tokenize_chinese_chars=int(spec.chinese_chars),
            suffix_indicator=spec.suffix_indicator,
            unk_token=spec.unk_token,
            # All five must be vocabulary tokens for the op to load; it emits only cls/sep
            # (dropped by the stage) and unk, so pad and mask may be any of them.
            cls_token=spec.cls_token, sep_token=spec.sep_token,
            pad_token=spec.unk_token, mask_token=spec.unk_token,
        )
        return ids

    if pair:
        if spec.template is None:
            raise UnsupportedModelError(
                f"{folder} has no tokenizer.json, whose post-processor gives the pair template", "add the model's tokenizer.json"
            )
        return build_op_pair_stage(
            "bert_op_pair_tokenizer", op_ids, spec.template,
            max_length=max_length, with_token_type_ids=with_token_type_ids, opset=opset, drop_front=1, drop_back=1,
        )
    nodes, ids, tables = op_stage_ids(op_ids)
    return build_op_stage(
        "bert_op_tokenizer", nodes, ids,
        max_length=max_length, prefix_ids=spec.prefix_ids, suffix_ids=spec.suffix_ids,
        with_token_type_ids=with_token_type_ids, opset=opset, drop_front=1, drop_back=1, initializers=tables,
    )


def _capital_outside_ascii(text: str) -> bool:
    return any(not ch.isascii() and unicodedata.category(ch) in ("Lu", "Lt") for ch in text)


def _decomposes_outside_latin1(text: str) -> bool:
    return any(ch > "\xff" and unicodedata.normalize("NFD", ch) != ch for ch in text)


def _combining_mark(text: str) -> bool:
    return any(unicodedata.category(ch)[0] == "M" for ch in text)


def _invisible(text: str) -> bool:
    return any(
        ch == "\ufffd" or (ch not in "\t\n\r" and unicodedata.category(ch) in ("Cc", "Cf", "Co", "Cn", "Cs"))
        for ch in text
    )


def _unusual_separator(text: str) -> bool:
    return any(ch != " " and unicodedata.category(ch) in ("Zs", "Zl", "Zp") for ch in text)


def _multiplication_sign(text: str) -> bool:
    return "\xd7" in text


_SPECIAL_TOKEN = re.compile(r"\[(?:CLS|SEP|PAD|UNK|MASK)\]|<(?:s|/s|pad|unk|mask)>")


def _special_token_text(text: str) -> bool:
    return _SPECIAL_TOKEN.search(text) is not None


def _word_with_non_ascii(text: str) -> bool:
    return any(len(word) > 1 and not word.isascii() for word in text.split())


# Rates: share of tests/data/real_text.txt lines in the class whose ids differ from Hugging Face's
# for all-MiniLM-L6-v2 (max_length 256), with extensions 0.15.2 / 0.10.1 and 0.12.0 (identical).
LIMITATIONS: tuple[Limitation, ...] = (
    Limitation(
        "non-ascii-capitals",
        "Capital letters beyond Latin-1 that the op does not lower-case (Latin 'Ł', 'İ', Greek, "
        "Armenian, Georgian; Cyrillic too before 0.15) become [UNK] where Hugging Face lower-cases them.",
        _capital_outside_ascii, "63.6% of 283 corpus lines with extensions 0.15.2; 80.2% with 0.10.1 and 0.12.0"),
    Limitation(
        "accents-outside-latin1",
        "Characters above U+00FF that Unicode decomposes ('ā', 'ő', Hangul syllables, some Indic "
        "vowels): Hugging Face splits off and strips the accent, the op strips only Latin-1 accents.",
        _decomposes_outside_latin1, "94.1% of 494 corpus lines (all three versions)"),
    Limitation(
        "combining-marks",
        "Combining marks (Indic and Thai vowel signs, Arabic and Hebrew points, accents typed "
        "separately): Hugging Face drops them when stripping accents, the op keeps them or emits [UNK].",
        _combining_mark, "59.8% of 428 corpus lines (all three versions)"),
    Limitation(
        "invisible-characters",
        "Control (except tab, newline, CR), format, private-use and unassigned code points, and "
        "U+FFFD: Hugging Face deletes them, the op emits [UNK] for most and stops reading at NUL.",
        _invisible, "9.1% of 44 corpus lines; DEL, U+FFFD and text after a NUL always differ"),
    Limitation(
        "unicode-separators",
        "Spaces and separators other than the ASCII space (U+1680, U+2028, U+2029 differ; "
        "NBSP and the U+2000 spaces agree): the op emits [UNK] for some of them.",
        _unusual_separator, "0.0% of 5 corpus lines (all NBSP); alone, 3 of the 18 separator code points differ"),
    Limitation(
        "multiplication-sign",
        "Extensions 0.10/0.12 turn '\xd7' (U+00D7) into '\xf7' when stripping accents; 0.15 is right.",
        _multiplication_sign, "no corpus line; 100% of hand cases with 0.10.1 and 0.12.0, 0% with 0.15.2"),
    Limitation(
        "special-token-text",
        "Special tokens typed in the text ('[CLS]', '[MASK]', '</s>'): Hugging Face emits their ids, "
        "the op tokenizes them as ordinary words.",
        _special_token_text, "no corpus line; 100% of 5 hand cases ('[CLS]', 'x [SEP] y', '[MASK]', '[UNK]', '[PAD] a')"),
    Limitation(
        "partial-unknown-words",
        "A word holding a character the vocabulary lacks: Hugging Face makes the whole word [UNK], "
        "the op keeps the pieces before it ('see\u0257to' -> 'see' [UNK]). Which characters are missing "
        "depends on the vocabulary, so the class is every word of two or more characters with a "
        "non-ASCII one.",
        _word_with_non_ascii, "41.8% of 1,826 corpus lines with extensions 0.15.2; 44.4% with 0.10.1 and 0.12.0"),
)


class BertOpTokenizer:
    """onnxruntime-extensions' BertTokenizer op, configured as Hugging Face behaves.

    Small and fast, but the op cannot match Hugging Face on every input; the classes it misses
    are declared (with measured rates) so validation reports them instead of hiding them.
    """

    limitations: Sequence[Limitation] = LIMITATIONS

    def build_graph(self, source: ModelSource, options: TokenizerOptions) -> onnx.ModelProto:
        refuse_what_ops_cannot(options, "BertTokenizer")
        return build_bert_op_graph(
            source.path,
            options.max_length,
            with_token_type_ids=options.with_token_type_ids,
            do_lower_case=options.do_lower_case,
            opset=options.opset,
            pair=options.pair,
        )
