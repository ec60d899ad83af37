"""The exact WordPiece stage at real scale and real shape, against Hugging Face's ``tokenizers``.

Two tokenizers built by realscale_wordpiece.py: bert-base-multilingual-cased's size (119,547
entries) and shape, and all-mpnet-base-v2's layout (its ``<unk>`` is a normalized added token).
Both op profiles: ``oracle`` (text split by the GPT2Tokenizer op, which stops at the first NUL, so
the reference is Hugging Face on the text up to its first NUL: the declared limitation, exactly)
and ``portable``. References are always the library's, never the graph's own output.
"""

from __future__ import annotations

import pathlib
from collections.abc import Callable

import pytest
from embedpipe import contract, manifest
from realscale_wordpiece import MULTILINGUAL_SIZE, mpnet_tokenizer_json, multilingual_tokenizer_json
from stage_cases import CODE_POINTS, assert_no_mismatch, assert_words_match
from stage_checks import assert_old_runtimes_give_reference_ids
from wordpiece_cases import WordPieceCase, piece_texts, random_texts

PROFILES = [contract.ORACLE_PROFILE, contract.PORTABLE_PROFILE]


@pytest.fixture(scope="module")
def folders(tmp_path_factory: pytest.TempPathFactory, corpus: list[str], minilm: WordPieceCase) -> dict[str, pathlib.Path]:
    root = tmp_path_factory.mktemp("real_scale")
    multilingual = multilingual_tokenizer_json(root / "multilingual", corpus).parent
    mpnet = mpnet_tokenizer_json(root / "mpnet", minilm.folder / "vocab.txt").parent
    return {"multilingual": multilingual, "mpnet": mpnet}


@pytest.fixture(scope="module")
def cases(folders: dict[str, pathlib.Path]) -> Callable[[str, str], WordPieceCase]:
    """The case of a tokenizer in a profile, each graph built once for the module (about 3 s)."""
    built: dict[tuple[str, str], WordPieceCase] = {}

    def get(name: str, profile: str) -> WordPieceCase:
        if (name, profile) not in built:
            max_length = 512 if name == "multilingual" else 384
            built[name, profile] = WordPieceCase(f"{name} ({profile})", folders[name], max_length, op_profile=profile)
        return built[name, profile]

    return get


@pytest.fixture(params=[(name, profile) for name in ("multilingual", "mpnet") for profile in PROFILES], ids="-".join)
def case(request: pytest.FixtureRequest, cases: Callable[[str, str], WordPieceCase]) -> WordPieceCase:
    return cases(*request.param)


def test_vocabulary_has_the_real_size(folders: dict[str, pathlib.Path]) -> None:
    multilingual = WordPieceCase("multilingual", folders["multilingual"], 512)
    assert multilingual.reference.get_vocab_size(with_added_tokens=True) == MULTILINGUAL_SIZE
    singles = [w for w in multilingual.reference.get_vocab() if len(w.removeprefix("##")) == 1]
    assert len(singles) > 20_000
    mpnet = WordPieceCase("mpnet", folders["mpnet"], 384)
    assert mpnet.reference.get_vocab_size(with_added_tokens=True) == 30_527
    assert mpnet.reference.get_added_tokens_decoder()[3].normalized


def test_real_text_lines(case: WordPieceCase, corpus: list[str]) -> None:
    assert_no_mismatch(case, corpus)


# Every code point but NUL, which the oracle profile declares (random texts hold NUL).
SWEPT = [chr(cp) for cp in CODE_POINTS if cp]


def test_every_code_point(case: WordPieceCase) -> None:
    """All 1,112,064 code points but NUL, each a word of its own (spaces around it), many to a text."""
    assert_words_match(case.untruncated(), SWEPT, 2000)


def test_every_code_point_inside_a_word(case: WordPieceCase) -> None:
    """The same between two letters, "ab" + chr(cp) + "cd": joined to them, split off, dropped, or
    making the whole word [UNK]."""
    assert_words_match(case.untruncated(), ["ab" + c + "cd" for c in SWEPT], 2000)


def test_random_unicode_and_pieces(case: WordPieceCase) -> None:
    """Seeded random Unicode (a tenth of it 0 to 5,000 characters, NUL included) and vocabulary
    pieces disturbed by case, accents, NBSP, ZWSP, NUL and typed added tokens."""
    assert_no_mismatch(case, random_texts(case, 1500, seed=41, long_share=0.1) + piece_texts(case, 1000, seed=42))


def test_long_documents(case: WordPieceCase, corpus: list[str]) -> None:
    document = " ".join(corpus)[:100_000]
    texts = [document, document.upper(), "a" * 100_000, "\u4e2d" * 20_000, " " * 20_000, "<UNK>" * 4_000, "[MASK]" * 3_000]
    assert_no_mismatch(case, texts)


@pytest.mark.parametrize("profile", PROFILES)
def test_normalized_unk_token(cases: Callable[[str, str], WordPieceCase], profile: str) -> None:
    """all-mpnet-base-v2's ``<unk>`` (normalized: true) however it is typed, beside the raw-matched
    ``<s>``, ``</s>``, ``[UNK]`` and ``<mask>`` (lstrip)."""
    texts = [
        "<unk>",
        "<UNK>",
        "<Unk>x<unk>",
        "a<unk>b",
        "<un\x01k>",
        "<un\u200bk>",
        "<u nk>",
        "<ｕｎｋ>",
        "<úńk>",
        "<unk><mask><unk>",
        "x <mask><unk> </s><s>",
        "[UNK]<unk>[unk]",
        "<<unk>>",
        "<unk" * 50,
    ]
    case = cases("mpnet", profile)
    assert [ids[1] for ids in case.reference_ids(texts[:3])] == [3, 3, 3]
    assert_no_mismatch(case, texts)


@pytest.mark.compat
@pytest.mark.parametrize("profile", PROFILES)
def test_old_runtimes_give_the_same_ids(
    cases: Callable[[str, str], WordPieceCase], corpus: list[str], tmp_path: pathlib.Path, profile: str
) -> None:
    """ONNX Runtime 1.15.1 + extensions 0.10.1 and 1.20.1 + 0.12.0 (Oracle 23ai and 26ai) load the
    real-size graph and give Hugging Face's ids, in both profiles."""
    case = cases("multilingual", profile)
    model = type(case.model).FromString(case.model.SerializeToString())
    manifest.attach(model, {"configuration": {"op_profile": profile}})  # the profile the check applies
    texts = corpus[::8] + random_texts(case, 100, seed=43) + piece_texts(case, 100, seed=44) + [" ".join(corpus)[:20_000]]
    assert_old_runtimes_give_reference_ids(model, case.max_length, texts, case.reference_ids, tmp_path)
