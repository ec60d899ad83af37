"""Pair stages on the extension ops (bert-op, gpt2-op, roberta-op, sentencepiece-op): Hugging Face's
ids, token type ids and mask for ``tokenizer(first, second, truncation=True, max_length=L)`` on
every pair outside the op's declared limitation classes, as their single-text stages are judged.

The op runs once per side inside toolkit/pairs.py's Loop, so truncation and template are the exact
stages' (tests/tokenizers/test_pairs.py); what is tested here is the op as that Loop's body: each
stage at an odd and an even token budget B (the even one caps each side, the odd one does not),
on real lines with each other and with queries, blank sides, long documents on one or both sides,
hand-written hard texts and random Unicode; and once under the old runtimes. References come from
the ``tokenizers`` library (and ``transformers`` once per stage), never from the graph.
"""

from __future__ import annotations

import dataclasses
import itertools
import pathlib
import random
import shutil
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import onnx
import onnxruntime as ort
import pytest
from embedpipe import contract
from embedpipe.components import Limitation, TokenizerOptions
from embedpipe.errors import ConfigError, UnsupportedModelError
from embedpipe.runtime import open_session
from embedpipe.source import read_folder
from embedpipe_tokenizers.ops import op_limits
from embedpipe_tokenizers.ops.bert_op import LIMITATIONS as BERT_LIMITATIONS
from embedpipe_tokenizers.ops.bert_op import build_bert_op_graph
from embedpipe_tokenizers.ops.bpe_op import GPT2OpTokenizer, build_bpe_op_graph
from embedpipe_tokenizers.ops.sentencepiece_op import SentencepieceOpTokenizer, build_sentencepiece_op_graph
from stage_checks import assert_old_runtimes_give_reference_ids
from test_pairs import BLANK, QUERIES, Encoded, Pair, run_pairs, with_fixed_second
from tokenizers import Tokenizer

from tests.conftest import HARD_TEXTS, random_unicode


@dataclass(frozen=True)
class OpPlan:
    """One op stage: its tokenizer folder (a fixture), the build function and the declared classes."""

    folder: Callable[[pytest.FixtureRequest], pathlib.Path]
    build: Callable[[pathlib.Path, int], onnx.ModelProto]
    limitations: Sequence[Limitation]
    budgets: tuple[int, int]  # odd, even


def _tiny(family: str) -> Callable[[pytest.FixtureRequest], pathlib.Path]:
    return lambda request: request.getfixturevalue("tiny_model")(family)


def _bpe(op: str) -> Callable[[pathlib.Path, int], onnx.ModelProto]:
    return lambda folder, length: build_bpe_op_graph(
        folder / "tokenizer.json", length, op=op, with_token_type_ids=True, pair=True
    )


PLANS = {
    "bert-op-minilm": OpPlan(
        lambda request: request.getfixturevalue("minilm_dir"),
        lambda folder, length: build_bert_op_graph(folder, length, with_token_type_ids=True, pair=True),
        BERT_LIMITATIONS, (61, 40),
    ),
    "gpt2-op": OpPlan(_tiny("gpt2"), _bpe("GPT2Tokenizer"), op_limits.BYTE_LEVEL_BPE, (33, 20)),
    "roberta-op": OpPlan(_tiny("roberta"), _bpe("RobertaTokenizer"), op_limits.BYTE_LEVEL_BPE, (45, 26)),
    "sentencepiece-op-xlmr": OpPlan(
        _tiny("xlmr"),
        lambda folder, length: build_sentencepiece_op_graph(
            folder / "tokenizer.json", length, with_token_type_ids=True, pair=True
        ),
        op_limits.UNIGRAM, (37, 30),
    ),
}
PLANS["sentencepiece-op-t5"] = dataclasses.replace(PLANS["sentencepiece-op-xlmr"], folder=_tiny("t5"))
STAGES = [pytest.param(name, budget, id=f"{name}-B{budget}") for name, plan in PLANS.items() for budget in plan.budgets]


@dataclass(frozen=True)
class Built:
    folder: pathlib.Path
    max_length: int
    session: ort.InferenceSession
    model: onnx.ModelProto
    reference: Tokenizer  # truncating to max_length, without padding


_BUILT: dict[tuple[str, int], Built] = {}


def built(request: pytest.FixtureRequest, name: str, budget: int) -> Built:
    """The pair stage of ``name`` at token budget B (max_length = B + the pair's specials), once per session."""
    if (name, budget) not in _BUILT:
        plan = PLANS[name]
        folder = plan.folder(request)
        reference = Tokenizer.from_file(str(folder / "tokenizer.json"))
        reference.no_padding()
        max_length = budget + len(reference.encode("", "").ids)
        reference.enable_truncation(max_length)
        model = plan.build(folder, max_length)
        _BUILT[name, budget] = Built(folder, max_length, open_session(model, threads=1), model, reference)
    return _BUILT[name, budget]


def op_pair_corpus(corpus: Sequence[str], seed: int) -> list[Pair]:
    """Real lines with each other and with queries, blank sides, long documents (hundreds of words)
    on one or both sides, hard texts and random Unicode against real lines."""
    rng = random.Random(seed)
    lines = rng.sample(list(corpus), 60)
    documents = [" ".join(rng.choice(corpus) for _ in range(rng.randint(15, 40))) for _ in range(6)]
    unicode = random_unicode(40, seed=seed)
    shorts = QUERIES[:4] + BLANK
    pairs = list(zip(lines, lines[1:] + lines[:1]))
    pairs += [(rng.choice(QUERIES), line) for line in lines[:30]] + [(line, rng.choice(QUERIES)) for line in lines[30:]]
    pairs += list(itertools.product(shorts, shorts))
    pairs += [(s, d) for s in shorts for d in documents[:2]] + [(d, s) for s in shorts for d in documents[2:4]]
    pairs += list(itertools.product(documents[:3], documents[3:]))
    pairs += [(d, line) for d, line in zip(documents, lines)] + [(line, d) for d, line in zip(documents, lines[10:])]
    hard = [t for t in HARD_TEXTS if len(t) < 5000]
    pairs += [(h, rng.choice(lines)) for h in hard] + [(rng.choice(QUERIES), h) for h in hard]
    pairs += list(zip(unicode, unicode[1:] + unicode[:1])) + [(u, rng.choice(lines)) for u in unicode[::2]]
    return pairs


def declared(limitations: Sequence[Limitation], pair: Pair) -> str:
    """The first declared class either side falls in ("" for none): a pair is forgiven as validation
    forgives a line with one text in a declared class."""
    return next((lim.name for lim in limitations for text in pair if lim.matches(text)), "")


@pytest.mark.parametrize(("name", "budget"), STAGES)
def test_pairs_equal_hugging_face_outside_declared_classes(
    request: pytest.FixtureRequest, real_text: list[str], name: str, budget: int
) -> None:
    stage = built(request, name, budget)
    pairs = op_pair_corpus([line for line in real_text if line.strip()], seed=budget)
    got = run_pairs(stage.session, pairs)
    want: list[Encoded] = [(e.ids, e.type_ids, e.attention_mask) for e in stage.reference.encode_batch([list(p) for p in pairs])]
    limitations = PLANS[name].limitations
    differing = [(p, g, w) for p, g, w in zip(pairs, got, want) if g != w]
    undeclared = [(p, g, w) for p, g, w in differing if not declared(limitations, p)]
    in_classes = [declared(limitations, p) for p in pairs]
    counts = {cls: in_classes.count(cls) for cls in sorted(set(in_classes) - {""})}
    differ = {cls: sum(declared(limitations, p) == cls for p, _, _ in differing) for cls in counts}
    print(f"\n{name} B={budget}: {len(pairs)} pairs, {len(differing)} differ, {len(undeclared)} outside declared classes; "
          f"in declared classes (pairs, of which differ): {({cls: (counts[cls], differ[cls]) for cls in counts})}")
    shown = "\n".join(
        f"  {p[0][:50]!r} | {p[1][:50]!r}\n    graph: {g[0][:30]}\n    hf:    {w[0][:30]}" for p, g, w in undeclared[:5]
    )
    assert not undeclared, f"{name}: {len(undeclared)} of {len(pairs)} pairs differ outside declared classes:\n{shown}"
    assert [i.name for i in stage.model.graph.input] == list(contract.PAIR_TEXTS)
    assert any(len(w[0]) == stage.max_length for w in want)  # the truncation path was exercised


@pytest.mark.parametrize("name", sorted(PLANS))
def test_pairs_agree_with_autotokenizer(request: pytest.FixtureRequest, real_text: list[str], name: str) -> None:
    transformers = pytest.importorskip("transformers")
    stage = built(request, name, PLANS[name].budgets[1])
    auto = transformers.AutoTokenizer.from_pretrained(stage.folder)
    sample = op_pair_corpus([line for line in real_text if line.strip()], seed=7)[::4]
    pairs = [p for p in sample if not declared(PLANS[name].limitations, p)]
    want = auto([a for a, _ in pairs], [b for _, b in pairs], truncation=True, max_length=stage.max_length)["input_ids"]
    for pair, (ids, _, _), auto_ids in zip(pairs, run_pairs(stage.session, pairs), want):
        assert ids == auto_ids, pair


@pytest.mark.compat
@pytest.mark.parametrize("name", ["bert-op-minilm", "gpt2-op", "roberta-op", "sentencepiece-op-xlmr"])
def test_old_runtimes_run_the_op_inside_the_loop(
    request: pytest.FixtureRequest, real_text: list[str], tmp_path: pathlib.Path, name: str
) -> None:
    """ONNX Runtime 1.15.1 + extensions 0.10.1 and 1.20.1 + 0.12.0 run the op in the Loop's body and
    give the library's ids (texts repeat: 1.15.1 once went wrong from a session's second run on). The
    second text is one short line: with long texts on both sides the library's overflowing windows
    (n1 x n2 encodings) would cost the reference tens of seconds."""
    plan = PLANS[name]
    stage = built(request, name, plan.budgets[1])
    second = next(line for line in real_text if 60 < len(line) < 120)
    texts = ["", " ", "what is it?", "what is it?", " ".join(real_text[20:24]), " ".join(real_text[20:24]), *real_text[::400]]
    texts = [t for t in texts if not declared(plan.limitations, (t, second))]

    def reference(firsts: Sequence[str]) -> list[list[int]]:
        return [e.ids for e in stage.reference.encode_batch([[t, second] for t in firsts])]

    assert_old_runtimes_give_reference_ids(with_fixed_second(stage.model, second), stage.max_length, texts, reference, tmp_path)


@pytest.mark.parametrize(("component", "family"), [(GPT2OpTokenizer, "gpt2"), (SentencepieceOpTokenizer, "t5")])
def test_the_registered_stages_build_pairs_from_options(
    tiny_model: Callable[..., pathlib.Path], component: type, family: str
) -> None:
    options = TokenizerOptions(max_length=32, do_lower_case=None, with_token_type_ids=True, opset=17, pair=True)
    model = component().build_graph(read_folder(tiny_model(family)), options)
    assert [i.name for i in model.graph.input] == list(contract.PAIR_TEXTS)


def test_refusals(minilm_dir: pathlib.Path, tmp_path: pathlib.Path) -> None:
    """A budget below 0; bert-op without tokenizer.json, whose post-processor alone gives the pair template."""
    with pytest.raises(ConfigError, match="special tokens of a pair"):
        build_bert_op_graph(minilm_dir, 2, with_token_type_ids=True, pair=True)
    for name in ("vocab.txt", "tokenizer_config.json"):
        shutil.copy(minilm_dir / name, tmp_path / name)
    build_bert_op_graph(tmp_path, 64, with_token_type_ids=True)  # a single text does not need it
    with pytest.raises(UnsupportedModelError, match="tokenizer.json"):
        build_bert_op_graph(tmp_path, 64, with_token_type_ids=True, pair=True)
