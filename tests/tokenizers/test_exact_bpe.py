"""What only the exact byte-level BPE stage has, against Hugging Face (the checks every family
shares are in test_conformance.py): added tokens typed against words, spaces and each other, and
the whitespace flags of an added token."""

from __future__ import annotations

import dataclasses
import pathlib
import random

import pytest
from bpe_cases import BpeCase
from stage_cases import assert_no_mismatch
from stage_checks import added_token, edited_tokenizer_json


@pytest.mark.parametrize("name", ["gpt2", "gpt2-bytelevel", "roberta", "roberta-prefix"])
def test_special_tokens_typed_in_the_text(bpe_cases: dict[str, BpeCase], name: str) -> None:
    """Added tokens against words, spaces (lstrip of <mask>), each other, NUL, and broken ones."""
    case = bpe_cases[name]
    rng = random.Random(5)
    parts = [*case.added_contents, "<", ">", "</", "<mask", "mask>", "<|endoftext", " ", "  ", "\n", "\x00", "a", "x's", "1", "é"]
    texts = ["".join(rng.choice(parts) for _ in range(rng.randrange(1, 12))) for _ in range(3000)]
    texts += ["<mask>" * 3, "a<mask>b", "a <mask> b", "a  \t<mask>", "<mask>  ", " <mask>", "\x00<mask>\x00", "a</s><s>b"]
    assert_no_mismatch(case, texts)


def _mask_flags(**flags: bool):
    def change(config: dict) -> None:
        for token in config["added_tokens"]:
            if token["content"] == "<mask>":
                token.update(flags)
        config["added_tokens"].append(added_token("xyz", len(config["model"]["vocab"]) + 1, normalized=True, special=False))

    return change


@pytest.mark.parametrize(
    "flags",
    [{"lstrip": True, "rstrip": True}, {"lstrip": False, "rstrip": True}, {"lstrip": False, "rstrip": False}],
    ids=["both", "rstrip", "none"],
)
def test_added_token_whitespace_flags(bpe_cases: dict[str, BpeCase], tmp_path: pathlib.Path, flags: dict[str, bool]) -> None:
    """<mask> absorbing whitespace on either side, and a normalized non-special added token."""
    base = bpe_cases["roberta-prefix"]
    edited_tokenizer_json(base.tokenizer_json, tmp_path, _mask_flags(**flags))
    case = dataclasses.replace(base, name=f"roberta-prefix {flags}", folder=tmp_path)
    rng = random.Random(6)
    parts = ["<mask>", "xyz", "</s>", " ", "  ", "\t", "\n", "\u3000", "\x00", "a", "b's", "1", "!"]
    texts = ["".join(rng.choice(parts) for _ in range(rng.randrange(1, 12))) for _ in range(2000)]
    assert_no_mismatch(case, texts)
