"""Tiny random-weight sentence-transformers models of each BERT-family architecture, built on demand.

Tokenizers are trained here with the `tokenizers` library on the repository's real-text corpus,
then wrapped by the model family's own transformers tokenizer class, so the saved files are the
ones that class really writes. Nothing here is committed as a binary.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from pathlib import Path

CORPUS = Path(__file__).parent / "data" / "real_text.txt"
HIDDEN = 32


@dataclass(frozen=True)
class Family:
    tokenizer_class: str
    config_class: str
    model_class: str
    lowercase: bool
    specials: tuple[str, ...]  # in vocabulary order; MPNet's real vocabulary also holds BERT's [UNK]
    config: dict


BERT_SPECIALS = ("[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]")
FAMILIES: dict[str, Family] = {
    "bert-uncased": Family("BertTokenizer", "BertConfig", "BertModel", True, BERT_SPECIALS, {}),
    "bert-cased": Family("BertTokenizer", "BertConfig", "BertModel", False, BERT_SPECIALS, {}),
    "distilbert": Family(
        "DistilBertTokenizer", "DistilBertConfig", "DistilBertModel", True, BERT_SPECIALS, {"dim": HIDDEN, "n_layers": 2, "n_heads": 4, "hidden_dim": 64}
    ),
    "mpnet": Family("MPNetTokenizer", "MPNetConfig", "MPNetModel", True, ("<s>", "<pad>", "</s>", "<unk>", "[UNK]", "<mask>"), {}),
}


def corpus_lines(limit: int = 3000) -> list[str]:
    return [line for line in CORPUS.read_text(encoding="utf-8").splitlines() if line.strip()][:limit]


def _train_vocab(family: Family, vocab_size: int) -> list[str]:
    from tokenizers import Tokenizer, models, normalizers, pre_tokenizers, trainers

    tokenizer = Tokenizer(models.WordPiece(unk_token="[UNK]"))
    tokenizer.normalizer = normalizers.BertNormalizer(lowercase=family.lowercase)
    tokenizer.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    trainer = trainers.WordPieceTrainer(vocab_size=vocab_size, special_tokens=list(family.specials), show_progress=False)
    tokenizer.train_from_iterator(itertools.chain(corpus_lines(), ["The quick brown fox jumps over the lazy dog."]), trainer)
    vocab = tokenizer.get_vocab()
    return sorted(vocab, key=vocab.__getitem__)


def build_tiny_model(
    root: Path,
    family_name: str,
    *,
    pooling: str = "mean",
    dense_out: int | None = None,
    normalize: bool = True,
    max_seq_length: int = 64,
    vocab_size: int = 3000,
    seed: int = 0,
) -> Path:
    """A sentence-transformers folder with a trained tokenizer and random weights; returns its path."""
    import torch
    import transformers
    from sentence_transformers import SentenceTransformer
    from sentence_transformers.sentence_transformer.modules import Dense, Normalize, Pooling, Transformer

    family = FAMILIES[family_name]
    raw = root / f"{family_name}-hf"
    raw.mkdir(parents=True, exist_ok=True)
    vocab = {token: index for index, token in enumerate(_train_vocab(family, vocab_size))}
    tokenizer = getattr(transformers, family.tokenizer_class)(vocab=vocab, do_lower_case=family.lowercase)
    tokenizer.save_pretrained(str(raw))
    torch.manual_seed(seed)
    sizes = {"vocab_size": len(tokenizer), "hidden_size": HIDDEN, "num_hidden_layers": 2, "num_attention_heads": 4, "intermediate_size": 64}
    config = getattr(transformers, family.config_class)(**{**sizes, "max_position_embeddings": 130, **family.config})
    getattr(transformers, family.model_class)(config).save_pretrained(str(raw))
    modules: list[torch.nn.Module] = [Transformer(str(raw), max_seq_length=max_seq_length), Pooling(HIDDEN, pooling_mode=pooling)]
    if dense_out is not None:
        modules.append(Dense(HIDDEN, dense_out, activation_function=torch.nn.Tanh()))
    if normalize:
        modules.append(Normalize())
    folder = root / family_name
    SentenceTransformer(modules=modules, device="cpu").save(str(folder))
    return folder
