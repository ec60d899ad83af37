"""Real-shaped WordPiece tokenizer.json files, built here (no model file is in git).

- ``mpnet_tokenizer_json``: sentence-transformers/all-mpnet-base-v2's layout (its public
  tokenizer.json, e.g. as vendored by discourse/discourse-ai): ``<s> <pad> </s> <unk>`` at 0..3,
  bert-base-uncased's 30,522 entries at 4.., ``<mask>`` at 30526 (lstrip); added tokens ``<unk>``
  with ``normalized: true`` and ``[UNK]`` at 104 (the model's unk token); RobertaProcessing.
  bert-base-uncased's vocabulary comes from the installed all-MiniLM-L6-v2 package.
- ``multilingual_tokenizer_json``: bert-base-multilingual-cased's size and shape: exactly 119,547
  entries (``[PAD]``, ``[unused1..99]``, ``[UNK] [CLS] [SEP] [MASK]`` at 100..103), cased (no
  lower-casing, no accent stripping), CJK spacing, about 13,000 single characters of many scripts
  with their ``##`` continuations, pieces trained by the ``tokenizers`` WordPiece trainer on
  tests/data/real_text.txt and seeded multilingual text, then seeded pieces of many scripts up to
  the real size. A few seconds.
"""

from __future__ import annotations

import json
import pathlib
import random
from collections.abc import Sequence
from itertools import accumulate

from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, trainers

MULTILINGUAL_SIZE = 119_547
MPNET_SIZE = 30_527

# (first, last) code points of scripts a multilingual vocabulary covers, and how many of each
# block's letters become single-character pieces (all when None).
SCRIPTS: dict[str, tuple[int, int, int | None]] = {
    "latin": (0x00C0, 0x024F, None),
    "latin-extended-additional": (0x1E00, 0x1EFF, None),
    "greek": (0x0370, 0x03FF, None),
    "cyrillic": (0x0400, 0x04FF, None),
    "armenian": (0x0531, 0x058F, None),
    "hebrew": (0x05D0, 0x05EA, None),
    "arabic": (0x0620, 0x06FF, None),
    "devanagari": (0x0900, 0x097F, None),
    "bengali": (0x0980, 0x09FF, None),
    "tamil": (0x0B80, 0x0BFF, None),
    "telugu": (0x0C00, 0x0C7F, None),
    "thai": (0x0E00, 0x0E7F, None),
    "georgian": (0x10A0, 0x10FF, None),
    "ethiopic": (0x1200, 0x137F, None),
    "hiragana": (0x3041, 0x309F, None),
    "katakana": (0x30A0, 0x30FF, None),
    "hangul": (0xAC00, 0xD7A3, 1800),
    "cjk": (0x4E00, 0x9FFF, 8000),
}


def mpnet_tokenizer_json(folder: pathlib.Path, bert_vocab: pathlib.Path) -> pathlib.Path:
    """all-mpnet-base-v2's tokenizer.json around bert-base-uncased's ``vocab.txt``."""
    words = bert_vocab.read_text(encoding="utf-8").splitlines()
    vocab = {w: i for i, w in enumerate(["<s>", "<pad>", "</s>", "<unk>", *words, "<mask>"])}
    assert len(vocab) == MPNET_SIZE, len(vocab)

    def added(content: str, *, normalized: bool = False, lstrip: bool = False) -> dict[str, object]:
        flags = {"single_word": False, "lstrip": lstrip, "rstrip": False, "normalized": normalized}
        return {"id": vocab[content], "special": True, "content": content, **flags}

    config = {
        "version": "1.0",
        "truncation": None,
        "padding": None,
        "added_tokens": [
            added("<s>"),
            added("<pad>"),
            added("</s>"),
            added("<unk>", normalized=True),
            added("[UNK]"),
            added("<mask>", lstrip=True),
        ],
        "normalizer": {
            "type": "BertNormalizer",
            "clean_text": True,
            "handle_chinese_chars": True,
            "strip_accents": None,
            "lowercase": True,
        },
        "pre_tokenizer": {"type": "BertPreTokenizer"},
        "post_processor": {
            "type": "RobertaProcessing",
            "sep": ["</s>", 2],
            "cls": ["<s>", 0],
            "trim_offsets": True,
            "add_prefix_space": False,
        },
        "decoder": {"type": "WordPiece", "prefix": "##", "cleanup": True},
        "model": {
            "type": "WordPiece",
            "unk_token": "[UNK]",
            "continuing_subword_prefix": "##",
            "max_input_chars_per_word": 100,
            "vocab": vocab,
        },
    }
    return _save(folder, config, "MPNetTokenizer", {"bos_token": "<s>", "eos_token": "</s>", "unk_token": "[UNK]"})


def _letters(first: int, last: int, count: int | None, rng: random.Random) -> list[str]:
    """The block's letters and digits (what a word can hold), all or a seeded sample."""
    letters = [chr(cp) for cp in range(first, last + 1) if chr(cp).isalnum()]
    return letters if count is None or count >= len(letters) else sorted(rng.sample(letters, count))


def _generated_text(scripts: dict[str, list[str]], rng: random.Random, lines: int) -> list[str]:
    """Seeded lines of words, each word drawn from one script's letters with a skewed frequency,
    so that the trainer finds recurring pieces in every script."""
    out = []
    for _ in range(lines):
        letters = scripts[rng.choice(list(scripts))]
        common = letters[: max(8, len(letters) // 6)]
        words = ["".join(rng.choice(common) for _ in range(rng.randint(2, 9))) for _ in range(rng.randint(4, 16))]
        out.append(" ".join(words))
    return out


def multilingual_tokenizer_json(folder: pathlib.Path, corpus: Sequence[str], seed: int = 119547) -> pathlib.Path:
    """A bert-base-multilingual-cased-shaped tokenizer.json of exactly 119,547 entries."""
    rng = random.Random(seed)
    scripts = {name: _letters(first, last, count, rng) for name, (first, last, count) in SCRIPTS.items()}
    specials = ["[PAD]", *(f"[unused{i}]" for i in range(1, 100)), "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    tok = Tokenizer(models.WordPiece(unk_token="[UNK]", max_input_chars_per_word=100))
    tok.normalizer = normalizers.BertNormalizer(clean_text=True, handle_chinese_chars=True, strip_accents=None, lowercase=False)
    tok.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    tok.decoder = decoders.WordPiece()
    trainer = trainers.WordPieceTrainer(vocab_size=30_000, special_tokens=specials, min_frequency=2, show_progress=False)
    tok.train_from_iterator([*corpus, *_generated_text(scripts, rng, 1500)], trainer)
    vocab = list(json.loads(tok.to_str())["model"]["vocab"])  # in id order: specials first
    assert vocab[:104] == specials
    seen = set(vocab)

    def add(piece: str) -> bool:
        new = piece not in seen and len(vocab) < MULTILINGUAL_SIZE
        if new:
            seen.add(piece)
            vocab.append(piece)
        return new

    # Every letter alone and as a continuation, then punctuation and symbols of the corpus.
    for letters in scripts.values():
        for ch in letters:
            add(ch)
            add("##" + ch)
    for ch in sorted({ch for line in corpus for ch in line if not ch.isspace()}):
        add(ch)
    # Then pieces grown as a trained vocabulary grows them, until the size: a third extend a piece
    # of the same script by 1 to 3 letters, the others are new strings of 2 to 6 letters (CJK and
    # Hangul: 2 or 3), letters drawn with weight 1/sqrt(rank). That gives about 2 trie nodes per entry, as
    # bert-base-uncased's real vocabulary has (2.1); uniformly random strings would give 3.5.
    names = list(scripts)
    grown: dict[str, list[str]] = {name: [] for name in names}
    ranks = {name: list(accumulate((rank + 1) ** -0.5 for rank in range(len(letters)))) for name, letters in scripts.items()}
    while len(vocab) < MULTILINGUAL_SIZE:
        name = rng.choice(names)
        letters, pieces = scripts[name], grown[name]
        longest = 3 if len(letters) > 1000 else 14
        extend = pieces and rng.random() < 1 / 3
        start = rng.choice(pieces) if extend else rng.choice(["", "##"])
        piece = start + "".join(rng.choices(letters, cum_weights=ranks[name], k=rng.randint(1, 3) if extend else rng.randint(2, min(6, longest))))
        if len(piece.removeprefix("##")) <= longest and add(piece):
            pieces.append(piece)
    config = json.loads(tok.to_str())
    config["model"]["vocab"] = {piece: i for i, piece in enumerate(vocab)}
    config["added_tokens"] = [
        {"id": i, "special": True, "content": t, "single_word": False, "lstrip": False, "rstrip": False, "normalized": False}
        for i, t in enumerate(vocab[:104])
        if not t.startswith("[unused")
    ]
    config["post_processor"] = {
        "type": "TemplateProcessing",
        "single": [
            {"SpecialToken": {"id": "[CLS]", "type_id": 0}},
            {"Sequence": {"id": "A", "type_id": 0}},
            {"SpecialToken": {"id": "[SEP]", "type_id": 0}},
        ],
        "pair": [
            {"SpecialToken": {"id": "[CLS]", "type_id": 0}},
            {"Sequence": {"id": "A", "type_id": 0}},
            {"SpecialToken": {"id": "[SEP]", "type_id": 0}},
            {"Sequence": {"id": "B", "type_id": 1}},
            {"SpecialToken": {"id": "[SEP]", "type_id": 1}},
        ],
        "special_tokens": {
            "[CLS]": {"id": "[CLS]", "ids": [101], "tokens": ["[CLS]"]},
            "[SEP]": {"id": "[SEP]", "ids": [102], "tokens": ["[SEP]"]},
        },
    }
    return _save(folder, config, "BertTokenizer", {"do_lower_case": False, "unk_token": "[UNK]"})


def _save(folder: pathlib.Path, config: dict[str, object], tokenizer_class: str, extra: dict[str, object]) -> pathlib.Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "tokenizer.json"
    path.write_text(json.dumps(config, ensure_ascii=False), encoding="utf-8")
    settings = {"tokenizer_class": tokenizer_class, "model_max_length": 512, **extra}
    (folder / "tokenizer_config.json").write_text(json.dumps(settings), encoding="utf-8")
    Tokenizer.from_file(str(path))  # the library reads it
    return path
