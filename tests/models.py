"""Tiny random-weight sentence-transformers models of each tokenizer family, built on demand.

Tokenizers are trained here on the repository's real-text corpus (WordPiece and byte-level BPE
with the `tokenizers` library, Unigram with `sentencepiece`), then wrapped by the model family's
own transformers tokenizer class, so the saved files are the ones that class really writes.
Nothing here is committed as a binary.
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
    vocabulary: str = "wordpiece"  # how the tokenizer is trained: "wordpiece", "byte-level-bpe", "unigram"
    sizes: dict | None = None  # the config's size arguments where they are not BERT's names
    tokenizer_options: dict | None = None  # extra arguments of the transformers tokenizer class


BERT_SPECIALS = ("[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]")
FAMILIES: dict[str, Family] = {
    "bert-uncased": Family("BertTokenizer", "BertConfig", "BertModel", True, BERT_SPECIALS, {}),
    "bert-cased": Family("BertTokenizer", "BertConfig", "BertModel", False, BERT_SPECIALS, {}),
    "distilbert": Family(
        "DistilBertTokenizer", "DistilBertConfig", "DistilBertModel", True, BERT_SPECIALS, {"dim": HIDDEN, "n_layers": 2, "n_heads": 4, "hidden_dim": 64}
    ),
    "mpnet": Family("MPNetTokenizer", "MPNetConfig", "MPNetModel", True, ("<s>", "<pad>", "</s>", "<unk>", "[UNK]", "<mask>"), {}),
    "roberta": Family(
        "RobertaTokenizer", "RobertaConfig", "RobertaModel", False, ("<s>", "<pad>", "</s>", "<unk>", "<mask>"),
        {"pad_token_id": 1, "bos_token_id": 0, "eos_token_id": 2}, vocabulary="byte-level-bpe",
    ),
    # GPT2 has no pad token; sentence-transformers users set it to the eos token, as done here.
    "gpt2": Family(
        "GPT2Tokenizer", "GPT2Config", "GPT2Model", False, ("<|endoftext|>",), {"bos_token_id": 0, "eos_token_id": 0},
        vocabulary="byte-level-bpe",
        sizes={"n_embd": HIDDEN, "n_layer": 2, "n_head": 4, "n_positions": 130},
        tokenizer_options={"pad_token": "<|endoftext|>"},
    ),
    # XLM-R's sentencepiece model numbers <unk>, <s>, </s> 0..2; the tokenizer class adds the fairseq offset.
    "xlmr": Family(
        "XLMRobertaTokenizer", "XLMRobertaConfig", "XLMRobertaModel", False, (), {"pad_token_id": 1, "bos_token_id": 0, "eos_token_id": 2},
        vocabulary="unigram",
    ),
    # Multilingual-MiniLM (multilingual-e5-small, paraphrase-multilingual-MiniLM): a BertModel under XLM-R's tokenizer.
    "bert-sentencepiece": Family(
        "XLMRobertaTokenizer", "BertConfig", "BertModel", False, (), {"pad_token_id": 1}, vocabulary="unigram",
    ),
    # T5's sentencepiece model numbers <pad>, </s>, <unk> 0..2 and has no <s>.
    "t5": Family(
        "T5Tokenizer", "T5Config", "T5EncoderModel", False, (), {}, vocabulary="unigram",
        sizes={"d_model": HIDDEN, "d_kv": 8, "d_ff": 64, "num_layers": 2, "num_heads": 4},
    ),
}
# sentencepiece ids of the special pieces, as each family's original .model file has them.
_SENTENCEPIECE_IDS = {
    "xlmr": {"unk_id": 0, "bos_id": 1, "eos_id": 2, "pad_id": -1},
    "bert-sentencepiece": {"unk_id": 0, "bos_id": 1, "eos_id": 2, "pad_id": -1},
    "t5": {"pad_id": 0, "eos_id": 1, "unk_id": 2, "bos_id": -1},
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


def _train_byte_level_bpe(family: Family, vocab_size: int) -> tuple[dict[str, int], list[tuple[str, str]]]:
    """Vocabulary and merges of a byte-level BPE trained as GPT2 and RoBERTa were (every byte in the alphabet)."""
    import json

    from tokenizers import Tokenizer, models, pre_tokenizers, trainers

    tokenizer = Tokenizer(models.BPE())
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size, special_tokens=list(family.specials), initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False
    )
    tokenizer.train_from_iterator(corpus_lines(), trainer)
    model = json.loads(tokenizer.to_str())["model"]
    return model["vocab"], [tuple(m) if isinstance(m, list) else tuple(m.split(" ")) for m in model["merges"]]


def _train_sentencepiece(family_name: str, folder: Path, file_name: str, vocab_size: int) -> None:
    """A Unigram sentencepiece model (nmt_nfkc normalization, as both families ship) written to ``folder``."""
    import io

    import sentencepiece

    model = io.BytesIO()
    sentencepiece.SentencePieceTrainer.train(
        sentence_iterator=iter(corpus_lines()), model_writer=model, vocab_size=vocab_size, model_type="unigram",
        character_coverage=0.9995, hard_vocab_limit=False, minloglevel=2, **_SENTENCEPIECE_IDS[family_name],
    )
    (folder / file_name).write_bytes(model.getvalue())


def _save_tokenizer(family_name: str, family: Family, raw: Path, vocab_size: int):  # type: ignore[no-untyped-def]
    """Train the family's tokenizer, save it with its transformers class into ``raw``, return the tokenizer."""
    import transformers

    cls = getattr(transformers, family.tokenizer_class)
    options = family.tokenizer_options or {}
    if family.vocabulary == "unigram":
        # The class converts the .model file it is given; save_pretrained writes what it really keeps.
        original = raw.with_name(f"{raw.name}-sentencepiece")
        original.mkdir(exist_ok=True)
        file_name = "spiece.model" if family_name == "t5" else "sentencepiece.bpe.model"
        _train_sentencepiece(family_name, original, file_name, min(vocab_size, 2000))
        tokenizer = cls.from_pretrained(str(original), **options)
    elif family.vocabulary == "byte-level-bpe":
        vocab, merges = _train_byte_level_bpe(family, vocab_size)
        tokenizer = cls(vocab=vocab, merges=merges, **options)
    else:
        vocab = {token: index for index, token in enumerate(_train_vocab(family, vocab_size))}
        tokenizer = cls(vocab=vocab, do_lower_case=family.lowercase, **options)
    tokenizer.save_pretrained(str(raw))
    return tokenizer


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
    tokenizer = _save_tokenizer(family_name, family, raw, vocab_size)
    torch.manual_seed(seed)
    sizes = family.sizes or {
        "hidden_size": HIDDEN, "num_hidden_layers": 2, "num_attention_heads": 4, "intermediate_size": 64, "max_position_embeddings": 130
    }
    config = getattr(transformers, family.config_class)(**{"vocab_size": len(tokenizer), **sizes, **family.config})
    getattr(transformers, family.model_class)(config).save_pretrained(str(raw))
    modules: list[torch.nn.Module] = [Transformer(str(raw), max_seq_length=max_seq_length), Pooling(HIDDEN, pooling_mode=pooling)]
    if dense_out is not None:
        modules.append(Dense(HIDDEN, dense_out, activation_function=torch.nn.Tanh()))
    if normalize:
        modules.append(Normalize())
    folder = root / family_name
    SentenceTransformer(modules=modules, device="cpu").save(str(folder))
    return folder
