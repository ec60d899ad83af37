"""An XLM-R-shaped SentencePiece-Unigram tokenizer.json at the real vocabulary size (250,002),
built in seconds from a seed, for testing the exact Unigram stage at real scale.

The layout is xlm-roberta-base's on the Hub (multilingual-e5, bge-m3, paraphrase-multilingual):
``<s>``=0, ``<pad>``=1, ``</s>``=2, ``<unk>``=3, the pieces, ``<mask>``=250001 (stripping on its
left); the real Precompiled charsmap (sentencepiece's nmt_nfkc, taken from a model trained here)
then Replace(" {2,}", " "); Metaspace; RobertaProcessing. The pieces are shaped like the real
ones: words and word parts of the multilingual corpus, pseudo-words of many scripts, thousands of
single characters (CJK included), numbers and runs of punctuation up to 16 characters (the real
vocabulary's worst cases for the Viterbi), ``▁`` before word starts; lengths mostly 1 to 8, a tail
to 16 (sentencepiece's limit); scores are float32 log-probabilities falling with rank, the tail quantized so that many
pieces share a score (ties exercise Hugging Face's tie-breaking).
"""

from __future__ import annotations

import base64
import io
import json
import pathlib
import random
from collections import Counter

import numpy as np

VOCAB_SIZE = 250_002
META = "\u2581"
MAX_PIECE = 16  # characters, "▁" included: sentencepiece's default max_sentencepiece_length, XLM-R's
SPECIALS = ("<s>", "<pad>", "</s>", "<unk>")
# (first, last) code points of the scripts pseudo-words are drawn from.
SCRIPTS = (
    (0x61, 0x7A), (0xE0, 0xFF), (0x100, 0x17F), (0x430, 0x44F), (0x3B1, 0x3C9), (0x5D0, 0x5EA), (0x627, 0x64A),
    (0x905, 0x939), (0x985, 0x9B9), (0xB85, 0xBB9), (0xE01, 0xE2E), (0x10D0, 0x10F0), (0x561, 0x586),
    (0xAC00, 0xD7A3), (0x3041, 0x3096), (0x30A1, 0x30FA), (0x4E00, 0x9FFF), (0x1F600, 0x1F64F), (0x0C85, 0x0CB9),
)  # fmt: skip
RUNS = "-=._*#~+!?/\\|<>"


def precompiled_charsmap(lines: list[str]) -> bytes:
    """The Precompiled charsmap sentencepiece's trainer embeds by default (nmt_nfkc, as XLM-R's);
    it does not depend on the training text, so a small ASCII model is trained."""
    import sentencepiece
    from sentencepiece import sentencepiece_model_pb2

    model = io.BytesIO()
    ascii_lines = [line for line in lines if line.isascii()][:500]
    sentencepiece.SentencePieceTrainer.train(
        sentence_iterator=iter(ascii_lines), model_writer=model, vocab_size=300, model_type="unigram", minloglevel=2,
    )  # fmt: skip
    proto = sentencepiece_model_pb2.ModelProto()
    proto.ParseFromString(model.getvalue())
    return proto.normalizer_spec.precompiled_charsmap


def _corpus_pieces(lines: list[str]) -> list[str]:
    """Words of the corpus with ``▁``, their beginnings and endings, most frequent first."""
    counts: Counter[str] = Counter()
    for word in " ".join(lines).split():
        marked = META + word
        counts.update(marked[:end] for end in range(2, min(len(marked), MAX_PIECE) + 1))
        counts.update(word[start:] for start in range(max(1, len(word) - 8), len(word)))
        counts.update(word[start : start + 4] for start in range(1, len(word) - 4))
    return [piece for piece, _ in sorted(counts.items(), key=lambda item: (-item[1], item[0]))]


def _pseudo_words(rng: random.Random, count: int) -> list[str]:
    """Words of one script each, lengths like the real vocabulary's (geometric, mean about 4)."""
    words = []
    for _ in range(count):
        first, last = rng.choice(SCRIPTS)
        length = min(1 + int(rng.expovariate(1 / 3)), MAX_PIECE - 1)
        word = "".join(chr(rng.randint(first, last)) for _ in range(length))
        words.append(META + word if rng.random() < 0.6 else word)
    return words


def _repetitive() -> list[str]:
    """Numbers and runs: what makes long Viterbi segments in real text (tables, rules, digits)."""
    pieces = [str(n) for n in range(10000)] + [META + str(n) for n in range(10000)]
    for ch in RUNS + "a0xX":
        pieces += [ch * n for n in range(2, MAX_PIECE + 1)] + [META + ch * n for n in range(1, MAX_PIECE)]
    return pieces


def xlmr_pieces(lines: list[str], seed: int) -> list[str]:
    """``VOCAB_SIZE - 5`` distinct pieces in rank order (most probable first)."""
    rng = random.Random(seed)
    singles = sorted({ch for line in lines for ch in line if not ch.isspace()})
    singles += [chr(cp) for first, last in SCRIPTS for cp in range(first, min(last, first + 2500) + 1)]
    corpus = _corpus_pieces(lines)
    wanted = VOCAB_SIZE - len(SPECIALS) - 1
    ranked: dict[str, None] = dict.fromkeys([META, *singles[:3000], *corpus[:40000], *_repetitive()])
    pools = [singles[3000:], corpus[40000:], _pseudo_words(rng, wanted)]
    for pool in pools[:2]:
        rng.shuffle(pool)
    while len(ranked) < wanted:
        piece = rng.choice([p for p in pools if p]).pop()
        if "<unk>" not in piece:
            ranked.setdefault(piece, None)
    return list(ranked)


def xlmr_scores(count: int, seed: int) -> list[float]:
    """Float32 log-probabilities falling with rank (Zipf-like, about -3 to -13), the tail
    quantized to 1/64 so that many pieces tie."""
    rng = np.random.default_rng(seed)
    rank = np.arange(count, dtype=np.float64)
    scores = -(np.log(rank + 20.0) + 0.2 * rng.random(count))
    tail = rank > count // 3
    scores[tail] = np.round(scores[tail] * 64) / 64
    return np.sort(scores.astype(np.float32))[::-1].astype(np.float64).tolist()


def build_realscale_xlmr(folder: pathlib.Path, corpus_file: pathlib.Path, seed: int = 250002) -> pathlib.Path:
    """Write the tokenizer.json (and a tokenizer_config.json naming XLMRobertaTokenizer) into
    ``folder``; returns the tokenizer.json's path."""
    lines = [line for line in corpus_file.read_text(encoding="utf-8").splitlines() if line.strip()]
    pieces = xlmr_pieces(lines, seed)
    scores = xlmr_scores(len(pieces), seed)
    vocab = [[s, 0.0] for s in SPECIALS] + [[p, s] for p, s in zip(pieces, scores)] + [["<mask>", 0.0]]
    assert len(vocab) == VOCAB_SIZE and len({p for p, _ in vocab}) == VOCAB_SIZE
    flags = {"single_word": False, "rstrip": False, "normalized": False, "special": True}
    added = [{"id": i, "content": p, "lstrip": p == "<mask>", **flags} for i, p in [*enumerate(SPECIALS), (VOCAB_SIZE - 1, "<mask>")]]
    charsmap = base64.b64encode(precompiled_charsmap(lines)).decode("ascii")
    metaspace = {"type": "Metaspace", "replacement": META, "prepend_scheme": "always", "split": True}
    config = {
        "version": "1.0",
        "truncation": None,
        "padding": None,
        "added_tokens": added,
        "normalizer": {
            "type": "Sequence",
            "normalizers": [
                {"type": "Precompiled", "precompiled_charsmap": charsmap},
                {"type": "Replace", "pattern": {"Regex": " {2,}"}, "content": " "},
            ],
        },
        "pre_tokenizer": metaspace,
        "post_processor": {
            "type": "RobertaProcessing", "sep": ["</s>", 2], "cls": ["<s>", 0], "trim_offsets": True, "add_prefix_space": True,
        },  # fmt: skip
        "decoder": metaspace,
        "model": {"type": "Unigram", "unk_id": 3, "vocab": vocab, "byte_fallback": False},
    }
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "tokenizer.json"
    path.write_text(json.dumps(config, ensure_ascii=False), encoding="utf-8")
    tokenizer_config = {"tokenizer_class": "XLMRobertaTokenizer", "model_max_length": 512}
    (folder / "tokenizer_config.json").write_text(json.dumps(tokenizer_config), encoding="utf-8")
    return path
