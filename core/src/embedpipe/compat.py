"""The compatibility proof: a graph loads and gives the same outputs in the ONNX Runtimes Oracle embeds.

Oracle Database runs graphs in ONNX Runtime 1.15.1 (23ai) or 1.20.1 (26ai) with the extensions'
tokenizer ops. Each of those runtimes lives in its own virtual environment under the cache
directory, built once with pip; a standalone runner script runs the texts (or, for a pair graph,
the pairs) there, and the outputs (vectors, reranker scores, class probabilities) are compared
with the current process's runtime and with each other.
"""

from __future__ import annotations

import argparse
import itertools
import json
import math
import os
import platform
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

import numpy as np
import onnx

from embedpipe import contract, manifest, runtime, scoring
from embedpipe.data import compat_runner
from embedpipe.errors import ExportError
from embedpipe.oprule import check_op_rule

COMPAT_DIR_ENV = "EMBEDPIPE_COMPAT_DIR"
CURRENT = "current"
STAMP_FILE = "embedpipe-stamp.json"

# Texts that find tokenizer and transport differences: accents, CJK, emoji, empty, a NUL (the
# extensions' string ops stop reading at it), and a text longer than any max_seq_length.
PROBE_TEXTS = (
    "The quick brown fox jumps over the lazy dog.",
    "Café, naïve, Ångström: déjà vu.",
    "日本語のテキストと中文文本",
    "",
    "emoji 🙂 and symbols ∑ ≠ ∞",
    "   spaces\taround\nlines   ",
    "before\x00after",
    "long " * 600,
)
# The same probes as pairs for rerankers and pair classifiers: one query over every probe (a ranking
# group), each probe against "" and whitespace and after "", neighbours, the long text twice.
PROBE_PAIRS = tuple(scoring.pairs_of(PROBE_TEXTS))
EMBEDDING_ATOL = 1e-5
HEAD_ATOL = scoring.MAX_SCORE_DIFFERENCE
# What must agree beyond the values, per head function: a reranker's order of passages for each
# query, a classifier's best label.
ORDER_CHECKS = {contract.REGRESSION: "same ranking", contract.CLASSIFICATION: "same argmax"}

Row = runtime.Inputs  # one text per graph input: a text, or a pair


@dataclass(frozen=True)
class GraphIO:
    """What the runner feeds and reads, and how outputs compare: the graph's function (from its
    settings metadata, embedding when it records none), its string inputs, the output compared."""

    function: str
    inputs: tuple[str, ...]
    output: str

    @property
    def head(self) -> bool:
        """A reranker or classifier: scores compared to 1e-4, relative above 1, and their order."""
        return self.function != contract.EMBEDDING_FUNCTION

    @property
    def probes(self) -> tuple[str, ...] | tuple[Row, ...]:
        return PROBE_TEXTS if len(self.inputs) == 1 else PROBE_PAIRS


@dataclass(frozen=True)
class RuntimeSpec:
    """One ONNX Runtime to prove the graph on: a name and the pip requirements of its venv."""

    name: str
    requirements: tuple[str, ...]


RUNTIMES = (
    RuntimeSpec("ort-1.15.1", ("onnxruntime==1.15.1", "onnxruntime-extensions==0.10.1", "numpy<2")),
    RuntimeSpec("ort-1.20.1", ("onnxruntime==1.20.1", "onnxruntime-extensions==0.12.0", "numpy<2.3")),
)


@dataclass(frozen=True)
class RuntimeRun:
    """What one runtime made of the rows: versions, a load error or per-row errors, outputs [N, D]."""

    name: str
    versions: dict[str, str]
    load_error: str | None
    errors: dict[int, str]
    vectors: np.ndarray

    @property
    def loaded(self) -> bool:
        return self.load_error is None

    @property
    def good_rows(self) -> np.ndarray:
        """Mask of the rows this runtime ran without an error."""
        return np.array([i not in self.errors for i in range(len(self.vectors))], dtype=bool)

    @property
    def finite(self) -> bool:
        return bool(np.isfinite(self.vectors[self.good_rows]).all())

    @property
    def ok(self) -> bool:
        return self.loaded and not self.errors and self.finite


@dataclass(frozen=True)
class CompatReport:
    """The op rule's verdict and every runtime's run of one graph, with the outputs' pairwise distance
    (and, for a reranker or classifier, whether each two runtimes order the scores alike)."""

    model_path: Path
    texts: tuple[str, ...] | tuple[Row, ...]
    atol: float
    op_profile: str  # the profile the graph was built for (the default when it records none)
    op_violations: list[str]
    runs: list[RuntimeRun]
    diffs: dict[tuple[str, str], float | None]
    function: str = contract.EMBEDDING_FUNCTION
    orders: dict[tuple[str, str], bool | None] = field(default_factory=dict)  # None: no group or clear best to compare

    @property
    def ok(self) -> bool:
        close = all(d is not None and d <= self.atol for d in self.diffs.values())
        ordered = all(same is not False for same in self.orders.values())
        return not self.op_violations and all(run.ok for run in self.runs) and close and ordered

    def table(self) -> str:
        """The report as aligned plain text for a terminal or a CI log."""
        order = ORDER_CHECKS.get(self.function)
        scope = f"texts: {len(self.texts)}, atol {self.atol:g}"
        if order:
            scope = f"{self.function}, inputs: {len(self.texts)}, atol {self.atol:g}, relative above 1"
        lines = [f"model: {self.model_path} ({scope})"]
        rule = f"op rule ({self.op_profile} profile)"
        lines += [f"{rule}: ok"] if not self.op_violations else [f"{rule}: {v}" for v in self.op_violations]
        lines += _align(
            [("runtime", "onnxruntime", "extensions", "numpy", "loaded", "text errors", "finite")]
            + [_run_row(run) for run in self.runs]
        )
        lines += _align([("pair", "max |diff|", f"<= {self.atol:g}", *([order] if order else []))] + self._pair_rows())
        lines += [f"problem: {p}" for p in self._problems(limit=200)]
        lines.append(f"result: {'OK' if self.ok else 'FAIL'}")
        return "\n".join(lines)

    def _pair_rows(self) -> list[tuple[str, ...]]:
        """Each two runs' difference and verdict, and for a reranker or classifier whether they order alike."""
        rows = []
        for (a, b), d in self.diffs.items():
            order = [_order_cell(self.orders.get((a, b)))] if self.function in ORDER_CHECKS else []
            rows.append((f"{a} vs {b}", _number(d), _yes(d is not None and d <= self.atol), *order))
        return rows

    def to_dict(self) -> dict:
        """The report as JSON-ready data; non-finite differences become strings."""
        return {
            "model": str(self.model_path),
            "function": self.function,
            "ok": self.ok,
            "atol": self.atol,
            "texts": list(self.texts),
            "op_rule": {"profile": self.op_profile, "ok": not self.op_violations, "violations": self.op_violations},
            "runtimes": [_run_dict(run) for run in self.runs],
            "pairs": [
                {"a": a, "b": b, "max_abs_diff": _json_float(d), "ok": d is not None and d <= self.atol}
                | ({"same_order": self.orders.get((a, b))} if self.function in ORDER_CHECKS else {})
                for (a, b), d in self.diffs.items()
            ],
        }

    def _problems(self, limit: int) -> Iterator[str]:
        """Each load and text error, cut to ``limit`` characters."""
        for run in self.runs:
            if run.load_error:
                yield f"{run.name} cannot load the graph: {run.load_error[:limit]}"
            for index, message in sorted(run.errors.items()):
                yield f"{run.name} text {index} {_preview(self.texts[index])}: {message[:limit]}"


def default_cache_dir() -> Path:
    """``$EMBEDPIPE_COMPAT_DIR``, else ``.cache/compat`` in the git checkout embedpipe runs from, else in cwd."""
    if os.environ.get(COMPAT_DIR_ENV):
        return Path(os.environ[COMPAT_DIR_ENV])
    here = Path(__file__).resolve()
    root = next((p for p in here.parents if (p / ".git").exists()), None)
    return (root or Path.cwd()) / ".cache" / "compat"


def ensure_runtime(spec: RuntimeSpec, cache_dir: Path | None = None) -> Path:
    """The venv of ``spec``, built on first use and rebuilt when its requirements or Python change."""
    root = Path(cache_dir) if cache_dir else default_cache_dir()
    venv = root / spec.name
    stamp = json.dumps({"requirements": list(spec.requirements), "python": platform.python_version()})
    with _locked(root / f"{spec.name}.lock"):
        stamp_path = venv / STAMP_FILE
        if not stamp_path.is_file() or stamp_path.read_text(encoding="utf-8") != stamp:
            _build_venv(venv, spec)
            stamp_path.write_text(stamp, encoding="utf-8")
    return venv


def run_in_runtime(
    spec: RuntimeSpec, model_path: str | Path, io: GraphIO, rows: Sequence[Row], *, cache_dir: Path | None = None
) -> RuntimeRun:
    """Run ``rows`` through the graph in the runtime of ``spec``, in a child process of its venv (one call for all rows)."""
    python = ensure_runtime(spec, cache_dir) / "bin" / "python"
    with tempfile.TemporaryDirectory(prefix="embedpipe-compat-") as tmp:
        job = Path(tmp) / "job.json"
        job.write_text(json.dumps(_job(model_path, io, rows), ensure_ascii=True), encoding="ascii")
        with resources.as_file(resources.files("embedpipe") / "data" / "compat_runner.py") as runner:
            done = subprocess.run([str(python), "-I", str(runner), str(job), tmp], capture_output=True, text=True, check=False)
        result_path = Path(tmp) / "result.json"
        if done.returncode != 0 or not result_path.is_file():
            tail = " | ".join(done.stderr.strip().splitlines()[-3:])
            return RuntimeRun(spec.name, {}, f"runner exited with code {done.returncode}: {tail}", {}, np.zeros((0, 0)))
        return _as_run(spec.name, json.loads(result_path.read_text(encoding="ascii")), np.load(Path(tmp) / "vectors.npy"))


def run_current(model_path: str | Path, io: GraphIO, rows: Sequence[Row]) -> RuntimeRun:
    """Run ``rows`` in this process's runtime, opened the way ``embedpipe.runtime`` opens every graph."""
    result, vectors = compat_runner.run(_job(model_path, io, rows), runtime.open_session)
    return _as_run(CURRENT, result, vectors)


def graph_io(model: onnx.ModelProto, path: Path) -> GraphIO:
    """The function, string inputs and compared output of ``model``: ``embedding`` if it has one,
    else its only output (a reranker's ``logits``, a classifier's ``probabilities`` or ``logits``)."""
    function = runtime.recorded_settings(model).get("function", contract.EMBEDDING_FUNCTION)
    inputs = tuple(i.name for i in model.graph.input if i.type.tensor_type.elem_type == onnx.TensorProto.STRING)
    outputs = [o.name for o in model.graph.output]
    output = contract.EMBEDDING if contract.EMBEDDING in outputs else outputs[0] if len(outputs) == 1 else None
    if not inputs or output is None:
        raise ExportError(
            f"{path} takes no string input or has several outputs and none named {contract.EMBEDDING!r}",
            "pass an embedding, reranker or classifier graph embedpipe built",
        )
    return GraphIO(function, inputs, output)


def check_compat(
    model_path: str | Path,
    texts: Sequence[str] | Sequence[Row] | None = None,
    *,
    atol: float | None = None,
    runtimes: Sequence[RuntimeSpec] = RUNTIMES,
    cache_dir: Path | None = None,
    op_profile: str | None = None,
) -> CompatReport:
    """Check the op rule of the profile the graph was built for (``op_profile``, else the one its
    manifest records, else the default), run the graph in this process and in every runtime, and
    compare all outputs.

    ``texts`` are strings for a one-input graph and (first, second) pairs for a pair graph; by
    default the probes. ``atol`` defaults to 1e-5 for vectors and to the scores' 1e-4 for a
    reranker or classifier, whose differences count relative above 1 and whose runtimes must also
    rank each query's passages, or pick each row's best label, alike.
    """
    path = Path(model_path)
    if not path.is_file():
        raise ExportError(f"no ONNX file at {path}", "pass the path of a .onnx graph")
    try:
        model = onnx.load(str(path), load_external_data=False)
    except Exception as exc:  # protobuf and onnx raise several types for a damaged file
        raise ExportError(f"{path} is not a readable ONNX model ({exc})", "pass a .onnx graph embedpipe built") from exc
    io = graph_io(model, path)
    given = io.probes if texts is None else tuple(texts)
    if not given:
        raise ExportError("no texts to run for the compatibility check", "pass at least one text")
    rows = [(item,) if isinstance(item, str) else tuple(item) for item in given]
    if any(len(row) != len(io.inputs) for row in rows):
        raise ExportError(
            f"{path} takes {' and '.join(io.inputs)}, but not every row given has {len(io.inputs)} text(s)",
            "give texts to a one-input graph and pairs (--pair FIRST SECOND) to a pair graph",
        )
    tolerance = atol if atol is not None else HEAD_ATOL if io.head else EMBEDDING_ATOL
    runs = [run_current(path, io, rows)] + [run_in_runtime(spec, path, io, rows, cache_dir=cache_dir) for spec in runtimes]
    pairs = list(itertools.combinations(runs, 2))
    diffs = {(a.name, b.name): max_abs_diff(a, b, relative=io.head) for a, b in pairs}
    orders = {(a.name, b.name): same_order(io.function, rows, a, b, tolerance) for a, b in pairs if io.function in ORDER_CHECKS}
    profile = op_profile or manifest.recorded_op_profile(model) or contract.DEFAULT_OP_PROFILE
    violations = check_op_rule(model, op_profile=profile)
    return CompatReport(path, given, tolerance, profile, violations, runs, diffs, io.function, orders)


def max_abs_diff(a: RuntimeRun, b: RuntimeRun, *, relative: bool = False) -> float | None:
    """Largest absolute difference over the rows both ran, divided by the larger magnitude where it
    exceeds 1 if ``relative`` (raw logits may be large); inf if their sizes differ, None if nothing to compare."""
    both = _both(a, b)
    if not both.any():
        return None
    if a.vectors.shape != b.vectors.shape:
        return math.inf
    x, y = a.vectors[both].astype(np.float64), b.vectors[both].astype(np.float64)
    scale = np.maximum(1.0, np.maximum(np.abs(x), np.abs(y))) if relative else 1.0
    return float(np.max(np.abs(x - y) / scale))


def same_order(function: str, rows: Sequence[Row], a: RuntimeRun, b: RuntimeRun, atol: float) -> bool | None:
    """A reranker's runs rank the passages of every query given with several alike (``scoring.same_ranking``);
    a classifier's pick the same label on every row where ``b``'s best leads its second by more than
    2 ``atol`` (closer ones are ties within the tolerance). None when there is nothing to compare."""
    both = _both(a, b)
    if not both.any() or a.vectors.shape != b.vectors.shape:
        return None
    if function == contract.REGRESSION:
        queries = {row[0] for row, good in zip(rows, both) if good}
        groups = [np.array([i for i, row in enumerate(rows) if both[i] and row[0] == query]) for query in queries]
        checked = [scoring.same_ranking(a.vectors[g, 0], b.vectors[g, 0], atol) for g in groups if len(g) > 1]
    else:
        top = np.sort(b.vectors, axis=1)
        clear = both & (top[:, -1] - top[:, -2] > 2 * atol) if b.vectors.shape[1] > 1 else np.zeros_like(both)
        checked = list(np.argmax(a.vectors[clear], axis=1) == np.argmax(b.vectors[clear], axis=1))
    return bool(all(checked)) if checked else None


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m embedpipe.compat FILE...``: print each file's report; 1 if any fails, 2 on bad input."""
    parser = argparse.ArgumentParser(prog="python -m embedpipe.compat", description=__doc__.splitlines()[0])
    parser.add_argument("files", nargs="+", type=Path, help=".onnx graphs to check")
    parser.add_argument("--text", action="append", dest="texts", help="a text for a one-input graph (repeatable)")
    pair_help = "a pair for a pair graph (repeatable); default: the probes"
    parser.add_argument("--pair", action="append", nargs=2, metavar=("FIRST", "SECOND"), help=pair_help)
    atol_help = f"largest allowed difference between runtimes (default {EMBEDDING_ATOL:g}, scores {HEAD_ATOL:g})"
    parser.add_argument("--atol", type=float, help=atol_help)
    parser.add_argument("--json", action="store_true", help="print the reports as JSON instead of tables")
    args = parser.parse_args(argv)
    given = [*(args.texts or []), *map(tuple, args.pair or [])]
    try:
        reports = [check_compat(f, given or None, atol=args.atol) for f in args.files]
    except ExportError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps([r.to_dict() for r in reports], indent=2, ensure_ascii=False))
    else:
        print("\n\n".join(r.table() for r in reports))
    return 0 if all(r.ok for r in reports) else 1


def _job(model_path: str | Path, io: GraphIO, rows: Sequence[Row]) -> dict:
    """What the runner needs: the graph, its input and output names, one text per input per row."""
    listed = [list(row) for row in rows]
    return {"model": str(Path(model_path).resolve()), "inputs": list(io.inputs), "output": io.output, "rows": listed}


def _both(a: RuntimeRun, b: RuntimeRun) -> np.ndarray:
    """Mask of the rows both runs ran without an error (none if either did not load)."""
    return a.good_rows & b.good_rows if a.loaded and b.loaded else np.zeros(0, dtype=bool)


def _as_run(name: str, result: dict, vectors: np.ndarray) -> RuntimeRun:
    """A runner's JSON result and vectors as a ``RuntimeRun`` (JSON keys are strings, indexes are ints)."""
    errors = {int(index): message for index, message in result["errors"].items()}
    return RuntimeRun(name, result["versions"], result["load_error"], errors, vectors)


@contextmanager
def _locked(path: Path) -> Iterator[None]:
    """Hold an exclusive file lock so that parallel checks build a venv once."""
    import fcntl  # POSIX only; imported here so that importing this module works everywhere

    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        yield


def _build_venv(venv: Path, spec: RuntimeSpec) -> None:
    """Create the venv afresh with this interpreter and pip-install the spec's wheels into it."""
    shutil.rmtree(venv, ignore_errors=True)
    python = str(venv / "bin" / "python")
    steps = (
        [sys.executable, "-m", "venv", str(venv)],
        [python, "-m", "pip", "install", "--quiet", "--no-input", "--only-binary=:all:", *spec.requirements],
    )
    for step in steps:
        done = subprocess.run(step, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            tail = " | ".join(done.stderr.strip().splitlines()[-2:])
            raise ExportError(
                f"could not build the {spec.name} environment in {venv}: {tail}",
                f"check that pip can reach an index with {', '.join(spec.requirements)}, "
                f"or set {COMPAT_DIR_ENV} to a writable folder",
            )


def _run_row(run: RuntimeRun) -> tuple[str, ...]:
    versions = (run.versions.get(k, "?") for k in ("onnxruntime", "onnxruntime_extensions", "numpy"))
    finite = _yes(run.finite) if run.loaded else "-"
    return (run.name, *versions, _yes(run.loaded), str(len(run.errors)), finite)


def _run_dict(run: RuntimeRun) -> dict:
    return {
        "name": run.name,
        "versions": run.versions,
        "ok": run.ok,
        "loaded": run.loaded,
        "load_error": run.load_error,
        "errors": {str(i): m for i, m in sorted(run.errors.items())},
        "finite": run.finite,
    }


def _align(rows: Sequence[Sequence[str]]) -> list[str]:
    """Rows of cells as left-aligned columns two spaces apart."""
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return ["  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip() for row in rows]


def _yes(flag: bool) -> str:
    return "yes" if flag else "NO"


def _order_cell(same: bool | None) -> str:
    return "-" if same is None else _yes(same)


def _preview(item: str | Row) -> str:
    """A text, or each text of a pair, cut to 30 characters and quoted."""
    return " | ".join(repr(text[:30]) for text in ((item,) if isinstance(item, str) else item))


def _number(value: float | None) -> str:
    return "-" if value is None else f"{value:.3g}"


def _json_float(value: float | None) -> float | str | None:
    return value if value is None or math.isfinite(value) else str(value)


if __name__ == "__main__":
    sys.exit(main())
