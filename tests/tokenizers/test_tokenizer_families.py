"""Every tokenizer family end to end: tiny random-weight models (BERT uncased and cased, MPNet,
RoBERTa, GPT2, XLM-R, T5 encoder) converted with the tokenizer the resolver picks, compared with
sentence-transformers line by line, proven in Oracle's two runtimes, and fuzzed."""

from __future__ import annotations

import json
import math
import shutil
import zlib
from pathlib import Path

import numpy as np
import pytest
from embedpipe import ONNXPipeline, ONNXPipelineConfig, hookimpl
from embedpipe.compat import PROBE_TEXTS, check_compat
from embedpipe.config import resolve
from embedpipe.errors import UnsupportedModelError
from embedpipe.plugins import PluginManager
from embedpipe.runtime import embed, open_session
from embedpipe.source import read_folder

# The op stage each exact default stands beside: tested the same way, its declared classes forgiven.
OP_VARIANTS = [("roberta", "roberta-op"), ("gpt2", "gpt2-op"), ("xlmr", "sentencepiece-op"), ("t5", "sentencepiece-op")]
RESOLVED = {
    "bert-uncased": "wordpiece", "bert-cased": "wordpiece", "mpnet": "wordpiece",
    "roberta": "bpe", "gpt2": "bpe", "xlmr": "unigram", "t5": "unigram",
}
MIN_COSINE = 0.9999
FUZZ_PER_FAMILY = 10_000
FUZZ_MAX_LENGTH = 50_000


@pytest.fixture(scope="module")
def converted(tiny_model, tmp_path_factory):  # type: ignore[no-untyped-def]
    """Each family converted once (validated on the built-in samples): (pipeline, file)."""
    done: dict[tuple[str, str | None], tuple[ONNXPipeline, Path]] = {}

    def convert(family: str, tokenizer: str | None = None) -> tuple[ONNXPipeline, Path]:
        if (family, tokenizer) not in done:
            pipe = ONNXPipeline(tiny_model(family), ONNXPipelineConfig(tokenizer=tokenizer))
            name = f"tiny_{family}_{tokenizer or 'default'}".replace("-", "_")
            done[family, tokenizer] = (pipe, pipe.export2file(name, tmp_path_factory.mktemp(family)))
        return done[family, tokenizer]

    return convert


@pytest.mark.parametrize("family", sorted(RESOLVED))
def test_resolver_picks_the_family_tokenizer(tiny_model, family):
    assert resolve(ONNXPipelineConfig(), read_folder(tiny_model(family))).tokenizer == RESOLVED[family]


@pytest.mark.parametrize(("family", "tokenizer"), [(f, None) for f in sorted(RESOLVED)] + OP_VARIANTS)
def test_every_line_matches_sentence_transformers(converted, tiny_model, family, tokenizer, real_text, hard_texts):
    """Real multilingual text and the hard texts: cosine >= 0.9999 on every line outside the
    tokenizer's declared classes; the declared ones are counted and printed, not hidden."""
    from sentence_transformers import SentenceTransformer

    pipe, path = converted(family, tokenizer)
    texts = [*real_text, *hard_texts]
    expected = SentenceTransformer(str(tiny_model(family)), device="cpu").encode(texts, batch_size=64, convert_to_numpy=True)
    got = embed(open_session(path), texts)
    norms = np.linalg.norm(got, axis=1) * np.linalg.norm(expected, axis=1)
    both_zero = (np.linalg.norm(got, axis=1) == 0) & (np.linalg.norm(expected, axis=1) == 0)
    cosines = np.where(both_zero, 1.0, np.sum(got * expected, axis=1) / np.maximum(norms, 1e-30))
    below = [(t, c) for t, c in zip(texts, cosines) if c < MIN_COSINE]
    limitations = pipe.components.tokenizer.limitations
    undeclared = [(t[:60], c) for t, c in below if not any(lim.matches(t) for lim in limitations)]
    print(f"\n{family} ({pipe.settings.tokenizer}): {len(texts)} lines, min cosine {cosines.min():.6f}, "
          f"{len(below)} below {MIN_COSINE} (declared classes: {[t[:30] for t, _ in below]})")
    assert undeclared == []
    assert all(c >= MIN_COSINE for c in cosines[: len(real_text)]), "a real-text line differs"


@pytest.mark.parametrize("family", ["roberta", "gpt2", "xlmr", "t5"])
def test_a_20000_character_document_embeds_like_sentence_transformers(converted, tiny_model, family):
    from sentence_transformers import SentenceTransformer

    _, path = converted(family)
    document = ("Ein langer Text über Tokenizer, 日本語, العربية. " * 500)[:20_000]
    want = SentenceTransformer(str(tiny_model(family)), device="cpu").encode([document])[0]
    got = embed(open_session(path), [document])[0]
    assert float(got @ want / (np.linalg.norm(got) * np.linalg.norm(want))) >= MIN_COSINE


@pytest.mark.compat
@pytest.mark.parametrize(("family", "tokenizer"), [(f, None) for f in sorted(RESOLVED)] + OP_VARIANTS)
def test_graph_runs_alike_in_oracles_runtimes(converted, family, tokenizer, hard_texts):
    _, path = converted(family, tokenizer)
    report = check_compat(path, [*PROBE_TEXTS, *(t for t in hard_texts if t)])
    print(report.table())
    assert report.ok, report.table()


def _fuzz_texts(count: int, seed: int) -> list[str]:
    """Strings over all of Unicode: lengths log-uniform in 1..50,000 plus 0, 1 and 50,000 (so most are
    short and the whole range is covered); characters half ASCII, half anywhere else but surrogates."""
    rng = np.random.default_rng(seed)
    lengths = np.exp(rng.uniform(0, math.log(FUZZ_MAX_LENGTH), count - 3)).astype(int).tolist() + [0, 1, FUZZ_MAX_LENGTH]
    texts = []
    for length in lengths:
        codes = np.where(rng.random(length) < 0.5, rng.integers(0, 0x80, length), rng.integers(0x80, 0x110000 - 0x800, length))
        codes = np.where(codes >= 0xD800, codes + 0x800, codes).astype("<u4")  # skip the surrogates
        texts.append(codes.tobytes().decode("utf-32-le"))
    return texts


@pytest.mark.slow
@pytest.mark.parametrize(("family", "tokenizer"), [(f, None) for f in ("roberta", "gpt2", "xlmr", "t5")] + OP_VARIANTS)
def test_fuzz_no_error_finite_unit_vectors(converted, family, tokenizer):
    """10,000 generated strings per family through the whole graph: no error, finite, L2 norm 1.

    The one exception is a text with no token at all (GPT2: the empty string, or a text the op reads
    as empty because it starts with NUL): sentence-transformers' vector is then all zeros, and the
    graph's must be too.
    """
    _, path = converted(family, tokenizer)
    session = open_session(path)
    texts = _fuzz_texts(FUZZ_PER_FAMILY, seed=zlib.crc32(family.encode()))
    errors, zero, bad_norm = [], 0, []
    for text in texts:
        try:
            vector = embed(session, [text])[0]
        except Exception as exc:  # noqa: BLE001 - every failure is a finding
            errors.append((text[:30], str(exc)[:100]))
            continue
        norm = float(np.linalg.norm(vector))
        if not np.all(np.isfinite(vector)):
            bad_norm.append((text[:30], "non-finite"))
        elif norm == 0 and family == "gpt2" and text.split("\x00", 1)[0] == "":
            zero += 1
        elif abs(norm - 1) > 1e-4:
            bad_norm.append((text[:30], norm))
    lengths = [len(t) for t in texts]
    print(f"\n{family} ({tokenizer or 'default'}): {len(texts)} strings, lengths {min(lengths)}..{max(lengths)} (median {int(np.median(lengths))}), "
          f"{len(errors)} errors, {len(bad_norm)} bad norms, {zero} all-zero (no token)")
    assert errors == [] and bad_norm == []


def _with_tokenizer_class(tiny_model, tmp_path: Path, family: str, tokenizer_class: str | None) -> Path:
    folder = tmp_path / family
    shutil.copytree(tiny_model(family), folder)
    config_path = folder / "tokenizer_config.json"
    config = json.loads(config_path.read_text(encoding="utf-8"))
    config.pop("tokenizer_class")
    if tokenizer_class:
        config["tokenizer_class"] = tokenizer_class
    config_path.write_text(json.dumps(config), encoding="utf-8")
    return folder


@pytest.mark.parametrize("family", ["roberta", "gpt2", "xlmr"])
def test_undeclared_class_is_resolved_from_tokenizer_json(tiny_model, tmp_path, family):
    folder = _with_tokenizer_class(tiny_model, tmp_path, family, None)
    assert resolve(ONNXPipelineConfig(), read_folder(folder)).tokenizer == RESOLVED[family]


def test_an_unsupported_tokenizer_class_is_one_line_naming_it(tiny_model, tmp_path):
    folder = _with_tokenizer_class(tiny_model, tmp_path, "roberta", "FancyTokenizer")
    with pytest.raises(UnsupportedModelError) as caught:
        resolve(ONNXPipelineConfig(), read_folder(folder))
    message = str(caught.value)
    assert "\n" not in message and "FancyTokenizer" in message and "docs/plugins.md" in message
    assert all(name in message for name in ("bert", "gpt2-op", "roberta-op", "sentencepiece-op"))


class _FancyPlugin:
    """A third party's plugin, defined here: it claims FancyTokenizer for its own stage."""

    @hookimpl
    def embedpipe_register_tokenizers(self, register):  # type: ignore[no-untyped-def]
        from embedpipe_tokenizers.ops.bpe_op import RobertaOpTokenizer

        register("fancy", RobertaOpTokenizer)

    @hookimpl
    def embedpipe_resolve_tokenizer(self, source):  # type: ignore[no-untyped-def]
        return "fancy" if source.tokenizer_class == "FancyTokenizer" else None


def test_a_third_party_resolver_claims_a_tokenizer_class(tiny_model, tmp_path):
    manager = PluginManager()
    manager.load_entry_points()
    manager.register(_FancyPlugin(), name="fancy-plugin")
    fancy = read_folder(_with_tokenizer_class(tiny_model, tmp_path, "roberta", "FancyTokenizer"))
    assert resolve(ONNXPipelineConfig(), fancy, plugins=manager).tokenizer == "fancy"
    # The built-in resolver still answers for the classes the third party passes on.
    assert resolve(ONNXPipelineConfig(), read_folder(tiny_model("xlmr")), plugins=manager).tokenizer == "unigram"
