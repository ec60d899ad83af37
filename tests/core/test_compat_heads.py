"""The compatibility proof of rerankers and classifiers in ONNX Runtime 1.15.1 and 1.20.1.

Tiny random-weight heads (tests/core/classifiers.py) are converted once per session and proven on
the probes, each graph's rows sent to each old runtime in one runner call (the venvs' start-up is
most of the time). The old runtimes' scores are then held to the references, CrossEncoder.predict
and transformers, never to the graph, by the comparison the export's validation uses.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
from embedpipe import MiningFunction, ONNXPipeline, compat, contract
from embedpipe.scoring import ScoreReport, compare_scores, reference_scores

from tests.core.classifiers import build_classifier

# Tests that use the runtime venvs; the pure report tests below run everywhere.
compat_venvs = pytest.mark.compat

OLD_RUNTIMES = tuple(spec.name for spec in compat.RUNTIMES)
LABELS = {0: "negative", 1: "neutral", 2: "positive"}
REGRESSION = {"function": MiningFunction.REGRESSION.name, "activation": "model"}
# name: (tokenizer family, id2label, conversion settings)
HEADS: dict[str, tuple[str, dict[int, str], dict[str, object]]] = {
    "reranker-wordpiece": ("bert-uncased", {0: "LABEL_0"}, REGRESSION),
    "reranker-bpe": ("roberta", {0: "LABEL_0"}, REGRESSION),
    "reranker-unigram": ("xlmr", {0: "LABEL_0"}, REGRESSION),
    "classifier": ("bert-uncased", LABELS, {}),
    "pair-classifier": ("bert-uncased", LABELS, {"function": MiningFunction.CLASSIFICATION.name, "pair": True}),
}
Proven = tuple[ONNXPipeline, compat.CompatReport]


@pytest.fixture(scope="module")
def proven(tmp_path_factory: pytest.TempPathFactory, converted) -> Callable[[str], Proven]:  # type: ignore[no-untyped-def]
    """``proven(name)``: the head of ``HEADS`` converted and its compatibility report on the probes, once per module."""
    done: dict[str, Proven] = {}

    def prove(name: str) -> Proven:
        if name not in done:
            family, labels, settings = HEADS[name]
            folder = build_classifier(tmp_path_factory.mktemp(name), family, labels)
            pipe, path = converted(folder, max_seq_length=64, validate=False, **settings)  # held to the reference below
            done[name] = pipe, compat.check_compat(path)
        return done[name]

    return prove


class Replay:
    """A session stand-in that answers each row with what one runtime gave for it, so that
    ``scoring.compare_scores`` judges an old runtime's outputs exactly as it judges a graph's."""

    def __init__(self, names: tuple[str, ...], rows: tuple[tuple[str, ...], ...], outputs: np.ndarray) -> None:
        self.names = names
        self.outputs = dict(zip(rows, outputs))

    def get_inputs(self) -> list[SimpleNamespace]:
        return [SimpleNamespace(name=name) for name in self.names]

    def run(self, _names: None, feeds: dict[str, np.ndarray]) -> list[np.ndarray]:
        return [self.outputs[tuple(str(feeds[name][0]) for name in self.names)][None, :]]


def against_reference(pipe: ONNXPipeline, report: compat.CompatReport) -> dict[str, ScoreReport]:
    """Each old runtime's outputs on the probes against the reference scores, per runtime name."""
    rows = tuple((t,) if isinstance(t, str) else tuple(t) for t in report.texts)
    expected = reference_scores(pipe.source, pipe.settings, rows)
    names = contract.PAIR_TEXTS if len(rows[0]) == 2 else (contract.TEXT,)
    head, limitations = pipe.settings.head, pipe._limitations()
    assert head is not None
    scores = {}
    for run in (run for run in report.runs if run.name in OLD_RUNTIMES):
        replay = Replay(names, rows, run.vectors)
        scores[run.name] = compare_scores(replay, head, rows, expected, limitations=limitations)  # type: ignore[arg-type]
    return scores


@compat_venvs
@pytest.mark.parametrize("name", list(HEADS))
def test_head_agrees_across_runtimes_and_with_its_reference(name: str, proven: Callable[[str], Proven]) -> None:
    pipe, report = proven(name)
    print(report.table())
    assert report.ok, report.table()
    assert report.texts == (compat.PROBE_PAIRS if pipe.settings.head.pair else compat.PROBE_TEXTS)
    assert report.function == pipe.settings.function and report.atol == 1e-4
    assert len(report.orders) == 3 and all(report.orders.values())  # every pair of runtimes ranks (or labels) alike
    width = 1 if pipe.settings.function == contract.REGRESSION else len(LABELS)
    assert {run.vectors.shape for run in report.runs} == {(len(report.texts), width)}
    # Different inputs must give different scores, or agreement would prove nothing.
    assert np.ptp(report.runs[0].vectors[:, 0]) > 1e-2
    for runtime, scores in against_reference(pipe, report).items():
        print(runtime, scores.summary())
        assert scores.ok and scores.max_difference <= 1e-4, f"{runtime}: {scores.summary()}"


@compat_venvs
def test_main_checks_a_reranker_on_given_pairs(proven: Callable[[str], Proven], capsys: pytest.CaptureFixture) -> None:
    path = proven("reranker-wordpiece")[1].model_path
    assert compat.main([str(path), "--pair", "a query", "a passage", "--pair", "a query", "another passage"]) == 0
    table = capsys.readouterr().out
    assert "regression, inputs: 2" in table and "same ranking" in table and "result: OK" in table
    assert compat.main([str(path), "--text", "one text"]) == 2
    assert "first_input and second_input" in capsys.readouterr().err


def _run(name: str, rows: list[list[float]] | np.ndarray) -> compat.RuntimeRun:
    return compat.RuntimeRun(name, {}, None, {}, np.array(rows, dtype=np.float32))


def test_logits_differ_relatively_above_one() -> None:
    a, b = _run("a", [[1000.0], [0.5]]), _run("b", [[1000.05], [0.5]])
    assert compat.max_abs_diff(a, b) == pytest.approx(0.05, rel=1e-3)
    assert compat.max_abs_diff(a, b, relative=True) == pytest.approx(5e-5, rel=1e-3)


def test_a_reranker_ranking_each_query_differently_fails() -> None:
    rows = [("q", "p1"), ("q", "p2"), ("other", "p1")]
    a, b = _run("a", [[0.2], [0.1], [0.0]]), _run("b", [[0.1], [0.2], [0.9]])
    assert compat.same_order(contract.REGRESSION, rows, a, b, 1e-4) is False
    assert compat.same_order(contract.REGRESSION, rows, a, a, 1e-4) is True
    diffs, orders = {("a", "b"): 0.9}, {("a", "b"): False}
    report = compat.CompatReport(Path("r.onnx"), tuple(rows), 1.0, "oracle", [], [a, b], diffs, contract.REGRESSION, orders)
    assert not report.ok and "same ranking" in report.table() and "result: FAIL" in report.table()


def test_a_classifier_picking_another_clear_best_fails_and_a_tie_is_not_judged() -> None:
    rows = [("x",), ("y",)]
    a = _run("a", [[0.6, 0.3, 0.1], [0.50001, 0.49999, 0.0]])
    b = _run("b", [[0.3, 0.6, 0.1], [0.49999, 0.50001, 0.0]])
    assert compat.same_order(contract.CLASSIFICATION, rows, a, b, 1e-4) is False
    tie_a, tie_b = _run("a", a.vectors[1:]), _run("b", b.vectors[1:])
    assert compat.same_order(contract.CLASSIFICATION, rows[1:], tie_a, tie_b, 1e-4) is None
