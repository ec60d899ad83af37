"""What only the exact SentencePiece-Unigram stage has, against Hugging Face (the checks every
family shares are in test_conformance.py): the characters where the charsmap, graphemes and the
Viterbi's ties decide, and the grapheme rules swept over every code point."""

from __future__ import annotations

import pytest
from stage_cases import CODE_POINTS, assert_each_alone, assert_no_mismatch
from unigram_cases import HARD, UnigramCase


@pytest.fixture(scope="module")
def untruncated(unigram_cases: dict[str, UnigramCase]) -> UnigramCase:
    """The Hub layout without truncation, for sweeps of many texts between special tokens."""
    return unigram_cases["xlmr-hub"].untruncated()


@pytest.mark.parametrize("name", ["xlmr", "t5", "xlmr-hub"])
def test_hard_characters(unigram_cases: dict[str, UnigramCase], name: str) -> None:
    texts = [*HARD, *("ab" + h + "cd" for h in HARD), *(h + h for h in HARD), "".join(HARD), " ".join(HARD)]
    texts += ["isppp", "a\x00b", "\x00", "<mask>", "x <mask> y", "x<mask>y", "</s>", "a </s> b", "<s><s>", "<unk>", "<pad>x", "<mask"]
    texts += ["x  <mask>  y", "\t<mask>\n", "<mask> ", " <mask>", "a\u3000<mask>", "<<mask>>", "<extra_id_0> x", "\u2581x \u2581 y\u2581"]
    assert_no_mismatch(unigram_cases[name], texts)


@pytest.mark.parametrize("before", ["A", "\uff21", "\xa0", "e\u0301"])
def test_every_code_point_after_a_grapheme_start(untruncated: UnigramCase, before: str) -> None:
    """Whether a character joins the grapheme before it decides whether a rule applies."""
    assert_each_alone(untruncated, [before + chr(cp) + "\u0301" for cp in CODE_POINTS])


def test_every_code_point_before_a_letter(untruncated: UnigramCase) -> None:
    """Prepend characters join the following letter into one grapheme."""
    assert_each_alone(untruncated, [chr(cp) + "A\u0301" for cp in CODE_POINTS])
