"""Benchmark the start-up of the `embedpipe` commands that convert nothing: wall time, peak RSS, heavy imports.

Why: `embedpipe --help` once took 13.5 s because every command imported torch, transformers and
onnxruntime, and loading the plugins imported their heavy modules (issue 14). Each command runs
in a fresh process, as a user starts it, several times (the first run is a discarded warm-up of
the file cache); the table gives the median wall time and the median peak RSS (the child's
`ru_maxrss`, from `os.wait4`). One extra run under `python -X importtime` names the heavy
libraries the command imported. Target: each command under 1 s on an idle machine.

Results are merged by label into bench/results/startup.json and rendered into
bench/results/startup.md, a row per command and label, so a run before a change and one after it
stay together. To measure an older commit with the same venv, run this script from a worktree of
it with PYTHONPATH set to that worktree's core/src, plugins/*/src and contrib/*/src folders.

Run: HF_HUB_OFFLINE=1 .venv/bin/python bench/bench_startup.py --label after [--runs 7] [--graph FILE.onnx]
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_minilm import machine_info

ROOT = Path(__file__).resolve().parent.parent
TARGET_S = 1.0
HEAVY = ("torch", "transformers", "sentence_transformers", "onnxruntime", "onnxruntime_extensions", "sklearn", "onnx")
INSPECT = "inspect GRAPH"
COMMANDS: dict[str, list[str]] = {
    "--help": ["--help"],
    "templates": ["templates"],
    "presets": ["presets"],
    "plugins": ["plugins"],
    INSPECT: ["inspect"],  # the graph's path is appended
}
# all-MiniLM-L6-v2's weights: inspect parses a graph of the size it usually sees.
SYNTHETIC_WEIGHTS = 22_700_000


@dataclass
class Measurement:
    """One command's figures over its runs."""

    command: str
    runs: int
    wall_s_median: float
    wall_s_min: float
    peak_rss_mb_median: float
    heavy_imports: list[str]


def synthetic_graph(folder: Path) -> Path:
    """A valid graph with MiniLM's weight size and embedpipe's metadata key, for `inspect` to read."""
    import numpy as np
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    hidden = 384
    weight = numpy_helper.from_array(np.zeros((SYNTHETIC_WEIGHTS // hidden, hidden), dtype=np.float32), "weight")
    graph = helper.make_graph(
        [helper.make_node("Gather", ["weight", "ids"], ["embedding"])],
        "synthetic",
        [helper.make_tensor_value_info("ids", TensorProto.INT64, [1, "sequence"])],
        [helper.make_tensor_value_info("embedding", TensorProto.FLOAT, [1, "sequence", hidden])],
        initializer=[weight],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=8)
    helper.set_model_props(model, {"embedpipe.settings": json.dumps({"max_seq_length": 256})})
    path = folder / "synthetic.onnx"
    onnx.save(model, str(path))
    return path


def _in_child(function: Callable[[Path], Path], folder: Path) -> Path:
    """Run ``function`` in a spawned process: a child forked from a big benchmark process would
    count the benchmark's memory in its own peak RSS."""
    with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as pool:
        return pool.submit(function, folder).result()


def _embedpipe() -> str:
    """The console script of the interpreter running this benchmark."""
    return str(Path(sys.executable).parent / "embedpipe")


def run_once(args: list[str], env: dict[str, str]) -> tuple[float, float]:
    """Wall seconds and peak RSS (MB) of one fresh `embedpipe ARGS` process."""
    start = time.perf_counter()
    child = subprocess.Popen([_embedpipe(), *args], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
    assert child.stderr is not None
    stderr = child.stderr.read()
    _, status, usage = os.wait4(child.pid, 0)
    wall = time.perf_counter() - start
    code = os.waitstatus_to_exitcode(status)
    if code != 0:
        raise RuntimeError(f"embedpipe {' '.join(args)} exited {code}: {stderr.decode()[-2000:]}")
    return wall, usage.ru_maxrss / 1024


def heavy_imports(args: list[str], env: dict[str, str]) -> list[str]:
    """The heavy libraries `embedpipe ARGS` imports, read from `python -X importtime`."""
    code = f"import sys; sys.argv = ['embedpipe', *{args!r}]; from embedpipe.cli import main; main()"
    done = subprocess.run([sys.executable, "-X", "importtime", "-c", code], capture_output=True, text=True, env=env, check=False)
    imported = {
        line.rsplit("|", 1)[-1].strip().split(".")[0] for line in done.stderr.splitlines() if line.startswith("import time:")
    }
    return [name for name in HEAVY if name in imported]


def measure(command: str, args: list[str], runs: int, env: dict[str, str]) -> Measurement:
    run_once(args, env)  # warm-up: the file cache, not the command, would otherwise be timed
    walls, rss = zip(*(run_once(args, env) for _ in range(runs)))
    measurement = Measurement(
        command, runs, statistics.median(walls), min(walls), statistics.median(rss), heavy_imports(args, env)
    )
    print(f"{command}: {measurement.wall_s_median:.2f} s, {measurement.peak_rss_mb_median:.0f} MB", flush=True)
    return measurement


def _git_head() -> str:
    done = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=False)
    return done.stdout.strip() or "?"


def markdown(results: dict[str, Any]) -> str:
    """One row per command and run label, the labels of a command together."""
    rows = ["| command | run | wall (median) | peak RSS (median) | heavy libraries imported |", "|---|---|---:|---:|---|"]
    for command in COMMANDS:
        for label, run in results.items():
            found = run["commands"][command]
            rows.append(
                f"| `embedpipe {command}` | {label} | {found['wall_s_median']:.2f} s | {found['peak_rss_mb_median']:.0f} MB "
                f"| {', '.join(found['heavy_imports']) or 'none'} |"
            )
    notes = [
        "",
        (
            f"Target: every command under {TARGET_S:.0f} s on an idle machine. Each command is a fresh process; "
            "median of the runs after one warm-up."
        ),
        "",
    ]
    for label, run in results.items():
        machine = run["machine"]
        notes.append(
            f"- {label}: commit {run['commit']}, {run['date']}, {run['runs']} runs, ml_dtypes {run['ml_dtypes']}, "
            f"{machine['cpu_model']} ({machine['usable_cpus']} usable CPUs), Python {machine['python']}, load average "
            f"at start {', '.join(f'{v:.2f}' for v in machine['load_average_at_start'])}, at end "
            f"{', '.join(f'{v:.2f}' for v in run['load_average_at_end'])}; inspect read {run['graph']}."
        )
    return "# Start-up of the commands that convert nothing\n\n" + "\n".join(rows + notes) + "\n"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--label", required=True, help="the name of this run in the results, e.g. before or after")
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--graph", type=Path, help="the graph `inspect` reads (default: a synthetic one of MiniLM's size)")
    parser.add_argument("--output-dir", type=Path, default=Path(__file__).resolve().parent / "results")
    args = parser.parse_args(argv)
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    machine = machine_info(threads=1)
    with tempfile.TemporaryDirectory(prefix="embedpipe-bench-startup-") as work:
        graph = args.graph or _in_child(synthetic_graph, Path(work))
        measured = {
            command: measure(command, [*command_args, str(graph)] if command == INSPECT else command_args, args.runs, env)
            for command, command_args in COMMANDS.items()
        }
        graph_note = f"{graph.name} ({graph.stat().st_size / 1e6:.0f} MB)"
    this = {
        "date": machine["date"],
        "commit": _git_head(),
        "ml_dtypes": metadata.version("ml_dtypes"),  # onnx imports it; 0.7.0 alone costs 1 s
        "runs": args.runs,
        "graph": graph_note,
        "machine": machine,
        "load_average_at_end": os.getloadavg(),
        "commands": {name: asdict(m) for name, m in measured.items()},
    }
    args.output_dir.mkdir(parents=True, exist_ok=True)
    stored = args.output_dir / "startup.json"
    results = json.loads(stored.read_text()) if stored.exists() else {}
    results[args.label] = this
    stored.write_text(json.dumps(results, indent=2, default=str))
    table = markdown(results)
    (args.output_dir / "startup.md").write_text(table)
    print(table)


if __name__ == "__main__":
    main()
