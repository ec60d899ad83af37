"""GPT2's and roberta-base's real tokenizers (50,257 / 50,265 tokens, 50,000 merges), rebuilt from
the public vocab.json and merges.txt in tests/data/tokenizers (SOURCE.md there names their origin).

The tokenizer.json files are what transformers' GPT2Converter and RobertaConverter make of those
files (convert_slow_tokenizer.py): a BPE model with no dropout, prefix or suffix, the ByteLevel
pre-tokenizer and decoder; GPT2 with a ByteLevel post-processor and ``<|endoftext|>`` (50256) as its
one added token; roberta-base with ``<s> <pad> </s> <unk>`` (0-3), ``<mask>`` (50264) stripping
whitespace on its left, ``add_prefix_space`` on and RobertaProcessing.
"""

from __future__ import annotations

import gzip
import json
import pathlib

from stage_checks import GPT2_TOKENIZER_CONFIG, roberta_tokenizer_config, save_tokenizer_folder
from tokenizers import AddedToken, Tokenizer, decoders, models, pre_tokenizers, processors

DATA = pathlib.Path(__file__).resolve().parents[1] / "data" / "tokenizers"
ROBERTA_SPECIALS = ("<s>", "<pad>", "</s>", "<unk>")


def _vocab(name: str) -> dict[str, int]:
    return json.loads(gzip.decompress((DATA / name / "vocab.json.gz").read_bytes()).decode("utf-8"))


def _merges() -> list[tuple[str, str]]:
    """GPT2's merges.txt (roberta-base's is the same file), the version header skipped."""
    lines = gzip.decompress((DATA / "gpt2" / "merges.txt.gz").read_bytes()).decode("utf-8").splitlines()
    return [tuple(line.split(" ")) for line in lines if line and not line.startswith("#version")]


def _bpe(vocab: dict[str, int], add_prefix_space: bool) -> Tokenizer:
    tok = Tokenizer(
        models.BPE(vocab=vocab, merges=_merges(), dropout=None, continuing_subword_prefix="", end_of_word_suffix="", fuse_unk=False)
    )
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=add_prefix_space)
    tok.decoder = decoders.ByteLevel()
    return tok


def gpt2_folder(folder: pathlib.Path) -> pathlib.Path:
    """GPT2's tokenizer.json and tokenizer_config.json written to ``folder``."""
    tok = _bpe(_vocab("gpt2"), add_prefix_space=False)
    tok.post_processor = processors.ByteLevel(trim_offsets=False)
    tok.add_special_tokens([AddedToken("<|endoftext|>", special=True)])
    assert tok.token_to_id("<|endoftext|>") == 50256
    config = GPT2_TOKENIZER_CONFIG
    return save_tokenizer_folder(folder, tok, config)


def roberta_folder(folder: pathlib.Path) -> pathlib.Path:
    """roberta-base's tokenizer.json and tokenizer_config.json (add_prefix_space on) written to ``folder``."""
    tok = _bpe(_vocab("roberta-base"), add_prefix_space=True)
    tok.add_special_tokens([AddedToken(t, special=True) for t in ROBERTA_SPECIALS])
    tok.add_special_tokens([AddedToken("<mask>", lstrip=True, rstrip=False, normalized=False, special=True)])
    ids = {t: tok.token_to_id(t) for t in (*ROBERTA_SPECIALS, "<mask>")}
    assert ids == {"<s>": 0, "<pad>": 1, "</s>": 2, "<unk>": 3, "<mask>": 50264}, ids
    tok.post_processor = processors.RobertaProcessing(("</s>", 2), ("<s>", 0), trim_offsets=True, add_prefix_space=True)
    config = roberta_tokenizer_config(True)
    return save_tokenizer_folder(folder, tok, config)
