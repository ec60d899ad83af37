"""Pair stages (rerankers, cross-encoders): every exact family gives Hugging Face's ids, token type
ids and mask for ``tokenizer(first, second, truncation=True, max_length=L)``.

Each pair stage is built once (a few per family: both parities of the token budget B and tiny
budgets, which take different truncation paths, see toolkit/pairs.py) and runs many pairs: real
lines with each other and with short queries, empty and whitespace-only sides, documents of
several hundred words on one or both sides, random Unicode. References always come from the
``tokenizers`` library (and ``transformers`` once per family), never from the graph.
"""

from __future__ import annotations

import itertools
import pathlib
import random
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
import numpy as np
import onnx
import onnxruntime as ort
import pytest
from embedpipe import contract
from embedpipe.errors import ConfigError, UnsupportedModelError
from embedpipe.runtime import open_session
from embedpipe_tokenizers.toolkit.graph import GraphBuilder
from embedpipe_tokenizers.toolkit.pairs import kept_lengths
from onnx import TensorProto, helper
from stage_cases import StageCase, stage_case
from stage_checks import assert_old_runtimes_give_reference_ids, edited_tokenizer_json
from tokenizers import Tokenizer, models, pre_tokenizers, processors

Pair = tuple[str, str]
Encoded = tuple[list[int], list[int], list[int]]  # ids, token type ids, mask

# (family, case, op profile, token budgets B): per family both parities of B and the tiny budgets
# 0, 1, 2, and every kind of post-processor: TemplateProcessing (MiniLM, XLM-R), BertProcessing
# (DistilBERT-like), RobertaProcessing (MPNet-like, RoBERTa-like), none (GPT2-like).
PLANS = [
    (contract.WORDPIECE, "minilm", contract.PORTABLE_PROFILE, (61, 0, 1)),
    (contract.WORDPIECE, "minilm", contract.ORACLE_PROFILE, (40,)),
    (contract.WORDPIECE, "mpnet-roberta", contract.PORTABLE_PROFILE, (30,)),
    (contract.WORDPIECE, "distilbert", contract.PORTABLE_PROFILE, (2,)),
    (contract.BPE, "gpt2", contract.PORTABLE_PROFILE, (33, 1)),
    (contract.BPE, "roberta-prefix", contract.PORTABLE_PROFILE, (40, 2)),
    (contract.UNIGRAM, "xlmr", contract.PORTABLE_PROFILE, (45, 0)),
    (contract.UNIGRAM, "xlmr", contract.ORACLE_PROFILE, (26,)),
]
STAGES = [
    pytest.param(family, name, profile, budget, id=f"{family}-{name}-{profile}-B{budget}")
    for family, name, profile, budgets in PLANS
    for budget in budgets
]
MAIN_BUDGET = {"minilm": 61, "roberta-prefix": 40, "xlmr": 45}
# Under the old runtimes: GPT2Tokenizer (oracle) and com.microsoft.Tokenizer (portable) inside the
# Loop, and the BPE merge and Unigram Viterbi Loops nested in it.
COMPAT = [
    (contract.WORDPIECE, "minilm", contract.ORACLE_PROFILE, 40),
    (contract.BPE, "roberta-prefix", contract.PORTABLE_PROFILE, 40),
    (contract.UNIGRAM, "xlmr", contract.ORACLE_PROFILE, 26),
]
QUERIES = ["what is it?", "who", "How does the weather change in spring", "a", "1990", "Paris"]
BLANK = ["", " ", "  ", "\t\n", "\u3000 \n"]


def pair_added(case: StageCase) -> int:
    tok = Tokenizer.from_file(str(case.tokenizer_json))
    return len(tok.encode("", "").ids)


_BUILT: dict[tuple[str, str, int], tuple[StageCase, ort.InferenceSession]] = {}


def pair_stage(
    request: pytest.FixtureRequest, family: str, name: str, profile: str, budget: int
) -> tuple[StageCase, ort.InferenceSession]:
    """The pair variant of case ``name`` in ``profile`` with budget B, built once per session
    (token types always on, so they are checked too)."""
    key = (name, profile, budget)
    if key not in _BUILT:
        case = stage_case(request, family, name)
        if profile != case.op_profile:
            case = case.variant(profile, op_profile=profile)
        max_length = budget + pair_added(case)
        pair = case.variant(f"pair B={budget}", max_length=max_length, with_token_type_ids=True, options={"pair": True})
        _BUILT[key] = pair, open_session(pair.model, threads=1)
    return _BUILT[key]


def run_pairs(session: ort.InferenceSession, pairs: Sequence[Pair]) -> list[Encoded]:
    """The graph's ids, token types and mask per pair, where the mask is 1 (a pair with no token at
    all gets one masked pad, as a single text does); two threads, ONNX Runtime releases the GIL."""
    names = [contract.INPUT_IDS, contract.TOKEN_TYPE_IDS, contract.ATTENTION_MASK]

    def some(part: Sequence[Pair]) -> list[Encoded]:
        out = []
        for first, second in part:
            feeds = {contract.FIRST_TEXT: np.array([first], dtype=object), contract.SECOND_TEXT: np.array([second], dtype=object)}
            ids, types, mask = session.run(names, feeds)
            kept = mask[0] == 1
            out.append((ids[0][kept].tolist(), types[0][kept].tolist(), mask[0][kept].tolist()))
        return out

    half = (len(pairs) + 1) // 2
    with ThreadPoolExecutor(2) as pool:
        first, second = pool.submit(some, pairs[:half]), pool.submit(some, pairs[half:])
        return first.result() + second.result()


def reference_pairs(case: StageCase, pairs: Sequence[Pair]) -> list[Encoded]:
    """The tokenizers library: enable_truncation(max_length), encode(first, second); in the oracle
    profile each side up to its first NUL (the declared limitation of the op that splits the text)."""
    if case.op_profile == contract.ORACLE_PROFILE:
        pairs = [(a.split("\x00", 1)[0], b.split("\x00", 1)[0]) for a, b in pairs]
    encodings = case.reference.encode_batch([list(p) for p in pairs])
    return [(e.ids, e.type_ids, e.attention_mask) for e in encodings]


def pair_corpus(case: StageCase, corpus: list[str], count: int, seed: int) -> list[Pair]:
    """Real lines with each other and with short queries, blank sides, long documents on one or both
    sides, random Unicode (the case's own texts), vocabulary pieces, and the specials typed in."""
    rng = random.Random(seed)
    lines = rng.sample(corpus, min(len(corpus), count))
    documents = [" ".join(rng.choice(corpus) for _ in range(rng.randint(15, 40))) for _ in range(6)]  # hundreds of words
    unicode = case.random_texts(count, seed=seed) + case.piece_texts(count // 2, seed=seed + 1)
    shorts = QUERIES + BLANK + [case.separator, f"x {case.separator} y"]
    pairs = list(zip(lines, lines[1:] + lines[:1]))
    pairs += [(rng.choice(QUERIES), line) for line in lines[: count // 2]]
    pairs += [(line, rng.choice(QUERIES)) for line in lines[count // 2 :]]
    pairs += list(itertools.product(shorts, shorts))
    pairs += [(s, d) for s in BLANK + QUERIES[:2] for d in documents[:2]]
    pairs += [(d, s) for s in BLANK + QUERIES[:2] for d in documents[2:4]]
    pairs += list(itertools.product(documents[:3], documents[3:]))
    pairs += [(d, line) for d, line in zip(documents, lines)] + [(line, d) for d, line in zip(documents, lines[10:])]
    pairs += list(zip(unicode, unicode[1:] + unicode[:1])) + [(u, rng.choice(lines)) for u in unicode[::3]]
    return pairs


@pytest.mark.parametrize(("family", "name", "profile", "budget"), STAGES)
def test_pairs_equal_hugging_face(
    request: pytest.FixtureRequest, corpus: list[str], family: str, name: str, profile: str, budget: int
) -> None:
    """Every pair: ids, token types and mask as the tokenizers library encodes it (a few hundred
    pairs for the main budget of a case, fewer for the tiny budgets)."""
    case, session = pair_stage(request, family, name, profile, budget)
    pairs = pair_corpus(case, corpus, 50 if budget > 2 else 12, seed=budget)
    if budget <= 2:  # the library keeps every overflowing window pair: n1 * n2 encodings for two documents
        pairs = [p for p in pairs if min(map(len, p)) < 200]
    got, want = run_pairs(session, pairs), reference_pairs(case, pairs)
    bad = [(p, g, w) for p, g, w in zip(pairs, got, want) if g != w]
    shown = "\n".join(f"  {p[0][:50]!r} | {p[1][:50]!r}\n    graph: {g[0][:30]}\n    hf:    {w[0][:30]}" for p, g, w in bad[:5])
    assert not bad, f"{case.name}: {len(bad)} of {len(pairs)} pairs differ from Hugging Face:\n{shown}"
    assert [i.name for i in case.model.graph.input] == list(contract.PAIR_TEXTS)


@pytest.mark.parametrize(
    ("family", "name"),
    [(contract.WORDPIECE, "minilm"), (contract.BPE, "roberta-prefix"), (contract.UNIGRAM, "xlmr")],
)
def test_pairs_agree_with_autotokenizer(request: pytest.FixtureRequest, corpus: list[str], family: str, name: str) -> None:
    transformers = pytest.importorskip("transformers")
    case, session = pair_stage(request, family, name, contract.PORTABLE_PROFILE, MAIN_BUDGET[name])
    auto = transformers.AutoTokenizer.from_pretrained(case.folder)
    pairs = pair_corpus(case, corpus, 30, seed=3)
    # As a batch, the way rerankers call it: a lone text_pair "" is taken for no pair at all.
    want = auto([a for a, _ in pairs], [b for _, b in pairs], truncation=True, max_length=case.max_length)["input_ids"]
    for pair, (ids, _, _), auto_ids in zip(pairs, run_pairs(session, pairs), want):
        assert ids == auto_ids, pair


def test_longest_first_formula_by_brute_force() -> None:
    """toolkit/pairs.py's kept_lengths, as a graph over every n1, n2, B up to 13, against the
    library truncating a pair of n1 "a" and n2 "b" tokens to B + its 3 special tokens."""
    tok = Tokenizer(models.WordLevel({"[UNK]": 0, "a": 1, "b": 2, "[CLS]": 3, "[SEP]": 4}, unk_token="[UNK]"))
    tok.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    tok.post_processor = processors.BertProcessing(("[SEP]", 4), ("[CLS]", 3))
    combos = np.array(list(itertools.product(range(14), repeat=3)), np.int64)  # n1, n2, B
    g = GraphBuilder(17)
    k1, k2 = kept_lengths(g, "n1", "n2", "budget")
    inputs = [helper.make_tensor_value_info(n, TensorProto.INT64, [None]) for n in ("n1", "n2", "budget")]
    outputs = [helper.make_tensor_value_info(k, TensorProto.INT64, [None]) for k in (k1, k2)]
    graph = helper.make_graph(g.nodes, "kept", inputs, outputs, initializer=g.initializers)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=8)
    got1, got2 = open_session(model, threads=1).run(None, {"n1": combos[:, 0], "n2": combos[:, 1], "budget": combos[:, 2]})
    for (n1, n2, budget), k1_, k2_ in zip(combos.tolist(), got1.tolist(), got2.tolist()):
        tok.enable_truncation(budget + 3)
        ids = tok.encode(" ".join(["a"] * n1), " ".join(["b"] * n2)).ids
        assert (min(k1_, n1), min(k2_, n2)) == (ids.count(1), ids.count(2)), (n1, n2, budget)


def test_refusals(request: pytest.FixtureRequest, tmp_path: pathlib.Path) -> None:
    """A prompt with a pair, a budget below 0, a pair template with B before A, op stages."""
    case = stage_case(request, contract.WORDPIECE, "bert-uncased")
    with pytest.raises(ConfigError, match="prefix"):
        case.variant("pair prefix", options={"pair": True, "prefix": "query: "}).build()
    with pytest.raises(ConfigError, match="special tokens of a pair"):
        case.variant("pair too short", max_length=pair_added(case) - 1, options={"pair": True}).build()

    def b_first(config: dict) -> None:
        config["post_processor"]["pair"] = list(reversed(config["post_processor"]["pair"]))

    edited_tokenizer_json(case.tokenizer_json, tmp_path, b_first)
    with pytest.raises(UnsupportedModelError) as error:
        case.variant("B before A", folder=tmp_path, options={"pair": True}).build()
    assert "\n" not in str(error.value) and error.value.fix
    case.variant("single B before A", folder=tmp_path).build()  # a single-text stage does not need the pair form


def with_fixed_second(model: onnx.ModelProto, second: str) -> onnx.ModelProto:
    """The pair stage as a single-input stage: ``input`` is the first text, ``second`` a constant,
    so that the compatibility runner (one string per run) can run it."""
    model = type(model).FromString(model.SerializeToString())
    del model.graph.input[:]
    model.graph.input.append(helper.make_tensor_value_info(contract.TEXT, TensorProto.STRING, [1]))
    model.graph.initializer.append(helper.make_tensor(contract.SECOND_TEXT, TensorProto.STRING, [1], [second.encode()]))
    model.graph.node.insert(0, helper.make_node("Identity", [contract.TEXT], [contract.FIRST_TEXT]))
    return model


@pytest.mark.compat
@pytest.mark.parametrize(("family", "name", "profile", "budget"), COMPAT)
def test_old_runtimes_give_the_same_pair_ids(
    request: pytest.FixtureRequest, corpus: list[str], tmp_path: pathlib.Path, family: str, name: str, profile: str, budget: int
) -> None:
    """ONNX Runtime 1.15.1 and 1.20.1 run the Loop over both sides, the family's body (custom ops,
    nested Loops) inside it, and give the library's ids; texts repeat (1.15.1 once went wrong from a
    session's second run on)."""
    case, _ = pair_stage(request, family, name, profile, budget)
    second = " ".join(corpus[:4])
    texts = ["", " ", "what is it?", "what is it?", " ".join(corpus[20:24]), " ".join(corpus[20:24]), *corpus[::400]]
    texts += case.random_texts(8, seed=4)

    def reference(firsts: Sequence[str]) -> list[list[int]]:
        return [ids for ids, _, _ in reference_pairs(case, [(t, second) for t in firsts])]

    assert_old_runtimes_give_reference_ids(with_fixed_second(case.model, second), case.max_length, texts, reference, tmp_path)
