"""The ``embedpipe`` command. Every user error is one line on stderr and exit code 2."""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Callable
from functools import wraps
from pathlib import Path
from typing import Any

import click
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from embedpipe import contract
from embedpipe.errors import ConfigError, EmbedpipeError, PluginError

log = logging.getLogger(__name__)
USER_ERROR = 2
out = Console(soft_wrap=True)
err = Console(stderr=True)


def _user_errors(command: Callable[..., Any]) -> Callable[..., Any]:
    """Turn embedpipe's typed errors into one line and exit code 2, with no traceback."""

    @wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return command(*args, **kwargs)
        except EmbedpipeError as exc:
            err.print(f"[bold red]error:[/] {exc}", highlight=False, soft_wrap=True)
            sys.exit(USER_ERROR)

    return wrapper


def _emit_json(data: Any) -> None:
    click.echo(json.dumps(data, indent=2, ensure_ascii=False, default=str))


def _quiet_libraries() -> None:
    """Keep the terminal to embedpipe's own progress: no weight-loading bars or library chatter.

    Called by the commands that load a model, not by the group: importing transformers costs
    seconds that `--help`, `plugins` or `inspect` must not pay.
    """
    import transformers
    from huggingface_hub.utils import disable_progress_bars

    disable_progress_bars()
    transformers.utils.logging.disable_progress_bar()
    transformers.utils.logging.set_verbosity_error()


class _WarningLines(logging.Handler):
    """embedpipe's and its plugins' logged warnings as one "warning:" line each on stderr (the
    Oracle plugin warns this way before loading a graph with ops Oracle does not document)."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.addFilter(lambda record: record.name.startswith("embedpipe"))

    def emit(self, record: logging.LogRecord) -> None:
        err.print(f"[bold yellow]warning:[/] {escape(record.getMessage())}", highlight=False, soft_wrap=True)


def _warnings_to_stderr() -> None:
    root = logging.getLogger()
    if not any(isinstance(handler, _WarningLines) for handler in root.handlers):
        root.addHandler(_WarningLines())


class _PluginGroup(click.Group):
    """The ``embedpipe`` group: the built-in commands plus those plugins register."""

    _from_plugins: dict[str, click.Command] | None = None

    def _plugin_commands(self) -> dict[str, click.Command]:
        if self._from_plugins is None:
            from embedpipe.plugins import get_plugin_manager

            found = {}
            for registration in get_plugin_manager().registry("commands").values():
                try:
                    command = registration.load()
                except PluginError as exc:  # one plugin's broken command must not take the others down
                    log.warning("skipped command %s: %s", registration.name, exc)
                    continue
                if command.callback is not None:
                    command.callback = _user_errors(command.callback)
                found[registration.name] = command
            self._from_plugins = found
        return self._from_plugins

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*self.commands, *self._plugin_commands()})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        return self.commands.get(cmd_name) or self._plugin_commands().get(cmd_name)


@click.group(cls=_PluginGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--strict-plugins", is_flag=True, help="Fail when any installed plugin cannot be loaded.")
@click.version_option(package_name="embedpipe-core")
@_user_errors
def main(strict_plugins: bool) -> None:
    """Turn a Hugging Face text-embedding model into one string-in, vector-out ONNX graph."""
    _warnings_to_stderr()
    if strict_plugins:
        from embedpipe.plugins import get_plugin_manager

        get_plugin_manager(strict=True)


@main.command()
@click.argument("model")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), help="Output file (default ./<model name>.onnx; with external data, <name>.zip beside it).")
@click.option("--template", help="Start from a template (e.g. text).")
@click.option("--preset/--no-preset", default=True, show_default=True, help="Start from the model's preset if one exists.")
@click.option("--tokenizer", help="Tokenizer plugin name (default: chosen from the model's files).")
@click.option("--pooling", help="Pooling name (default: as the model declares).")
@click.option("--normalize/--no-normalize", default=None, help="Force L2 normalization on or off.")
@click.option("--max-seq-length", type=int, help="Truncate to this many tokens (default: as the model declares).")
@click.option("--opset", type=int, default=17, show_default=True)
@click.option(
    "--op-profile",
    type=click.Choice(["oracle", "portable"]),
    default="oracle",
    show_default=True,
    help="oracle: only ops Oracle documents (standard ONNX, ai.onnx.ml, the extension tokenizer ops); "
    "portable: no onnxruntime-extensions op (com.microsoft instead), for runtimes without that library.",
)
@click.option(
    "--optimize",
    type=click.Choice(["0", "1", "2", "99"]),
    help="ONNX Runtime's optimization level written into the graph (default 0; 1 when quantizing): 1 basic, "
    "2 fused contrib ops and 99 also this CPU's layouts, both for --op-profile portable only (docs/optimization.md).",
)
@click.option(
    "--function",
    type=click.Choice(contract.FUNCTIONS, case_sensitive=False),
    help="What the graph computes (default: as config.json's architectures say): regression is a reranker "
    "(first_input, second_input -> logits), classification gives class probabilities.",
)
@click.option(
    "--activation",
    type=click.Choice([*contract.ACTIVATIONS, contract.MODEL_ACTIVATION], case_sensitive=False),
    help="Regression/classification head (default: identity for regression, softmax for classification; "
    "model: what CrossEncoder.predict applies).",
)
@click.option("--pair", is_flag=True, default=None, help="Classification: the graph takes a pair of texts.")
@click.option("--label", "labels", multiple=True, help="Classification: a name for each label, in label-id order (repeat).")
@click.option("--quantize", type=click.Choice(["int8", "fp16"]), help="Quantize the graph's body (never the tokenizer).")
@click.option(
    "--quantize-option",
    "quantize_options",
    multiple=True,
    metavar="KEY=VALUE",
    help="Quantizer option, repeatable (int8: weight_type=qint8|quint8, per_channel=true, reduce_range=true, "
    'op_types=["MatMul"], smooth_alpha=0.7, float_compute=search|none|down|feed-forward|all; fp16: compute=float16|float32).',
)
@click.option("--quality-floor", type=float, help="Least agreement with the fp32 graph a quantized export must keep: mean cosine (embeddings), least Spearman per query (rerankers), same-label share (classifiers).")
@click.option("--neighbour-floor", type=float, help="Embeddings: least mean share of each query's top-10 neighbours a quantized export must keep (default: the quantizer's).")
@click.option("--external-data", "use_external_data", is_flag=True, help="Write the weights as external data (a .zip of .onnx, .dat, .json).")
@click.option("--prompt", help="Text put before every input inside the graph, as encode(prompt=...) does (needs embedpipe-prompts).")
@click.option("--prompt-name", help="One of the model's named prompts, e.g. query (needs embedpipe-prompts).")
@click.option("--truncate-dim", type=int, help="Matryoshka: keep the first N dimensions (normalized again if the model normalizes).")
@click.option("--batch", is_flag=True, help="A client-side graph: string [N] -> [N, D]; a reranker: a query and N passages -> [N, 1] (not for Oracle).")
@click.option("--batch-chunk", type=int, help="With --batch: strings of similar length per encoder run (default 16; 1 pads nothing).")
@click.option("--revision", help="Hub revision (branch, tag or commit) to pin.")
@click.option("--trust-remote-code", is_flag=True, help="Allow the model's own Python code (only for models you trust).")
@click.option("--no-validate", is_flag=True, help="Skip the parity check against sentence-transformers.")
@click.option("--to-db", "to_db", metavar="NAME", help="Also load the graph into Oracle Database as NAME (needs embedpipe[oracle]).")
@click.option("--replace", is_flag=True, help="With --to-db: replace a model of that name, keeping the old one until the new one is verified.")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON report instead of text.")
@_user_errors
def convert(
    model: str, output: Path | None, template: str | None, preset: bool, to_db: str | None, replace: bool, as_json: bool, **options: Any
) -> None:
    """Convert MODEL (hub id or folder) into one ONNX graph file (and, with --to-db, into Oracle)."""
    _quiet_libraries()
    from embedpipe.config import ONNXPipelineConfig
    from embedpipe.naming import check_export_name
    from embedpipe.pipeline import ONNXPipeline

    output = output or Path(f"{Path(model.rstrip('/')).name}.onnx")
    if output.suffix != ".onnx":
        raise ConfigError(f"output file {output} does not end in .onnx", "name it like out/model.onnx")
    check_export_name(output.stem)
    properties = _config_properties(options)
    if template:
        config = ONNXPipelineConfig.from_template(template, **properties)
    else:
        config = ONNXPipelineConfig(model if preset else None, **properties)
    with out.status("starting", spinner="dots") as status:
        pipe = ONNXPipeline(model, config, progress=lambda step: status.update(step))
        if to_db:
            pipe.check_oracle_target()
        try:
            path = pipe.export2file(output.stem, output.parent)
            if to_db:
                status.update(f"loading into Oracle Database as {to_db}")
                pipe.export2db(to_db, replace=replace)
        finally:
            if pipe.report is not None and not as_json:
                status.stop()
                out.print(pipe.report.summary(), highlight=False)
                if pipe.quality is not None:
                    out.print(pipe.quality.summary(), highlight=False)
    if pipe.settings.head is not None:
        _report_head(pipe, path, to_db, as_json)
        return
    from embedpipe.runtime import embed

    sample = embed(pipe.open_session(), ["hello world"])[0]
    result = {
        "output": str(path),
        "database_model": to_db,
        "bytes": path.stat().st_size,
        "dimension": int(sample.shape[0]),
        "settings": pipe.settings_properties(),
        "validation": pipe.report.to_dict() if pipe.report else None,
        "quality": pipe.quality.to_dict() if pipe.quality else None,
        "sample": {"text": "hello world", "vector_head": [round(float(v), 6) for v in sample[:8]]},
    }
    if as_json:
        _emit_json(result)
        return
    out.print(f"wrote {path} ({path.stat().st_size / 1e6:.1f} MB, dimension {sample.shape[0]})")
    if to_db:
        out.print(f"loaded into Oracle Database as {to_db}")
    out.print(f"'hello world' -> [{', '.join(f'{v:.5f}' for v in sample[:8])}, ...]", highlight=False)


def _report_head(pipe: Any, path: Path, to_db: str | None, as_json: bool) -> None:
    """What `convert` says of a reranker or classifier: the file and one sample's output."""
    from embedpipe.runtime import run_inputs
    from embedpipe.scoring import QUERY

    head = pipe.settings.head
    sample = (QUERY, "Open Settings and choose Reset password.") if head.pair else ("hello world",)
    values = run_inputs(pipe.open_session(), sample)
    result = {
        "output": str(path),
        "database_model": to_db,
        "bytes": path.stat().st_size,
        "function": head.function,
        "settings": pipe.settings_properties(),
        "validation": pipe.report.to_dict() if pipe.report else None,
        "sample": {"inputs": list(sample), head.output: [round(float(v), 6) for v in values]},
    }
    if as_json:
        _emit_json(result)
        return
    out.print(f"wrote {path} ({path.stat().st_size / 1e6:.1f} MB, {head.function}, output {head.output})")
    out.print(f"{' | '.join(map(repr, sample))} -> {', '.join(f'{v:.5f}' for v in values)}", highlight=False)


def _config_properties(options: dict[str, Any]) -> dict[str, Any]:
    quantize = options.pop("quantize")
    options["labels"] = list(options["labels"]) or None
    options["optimize"] = None if options["optimize"] is None else int(options["optimize"])
    options["quantize_options"] = _key_values(options["quantize_options"]) or None
    properties = {k: v for k, v in options.items() if v is not None and v is not False and k != "no_validate"}
    properties["validate"] = not options["no_validate"]
    if options["normalize"] is False:
        properties["normalize"] = False
    if quantize == "int8":
        properties["quantize_model"] = True
    elif quantize == "fp16":
        properties["use_float16"] = True
    return properties


def _key_values(pairs: tuple[str, ...]) -> dict[str, Any]:
    """``KEY=VALUE`` pairs; a value is read as JSON when it is JSON (true, 3, ["MatMul"]), else kept as text."""
    parsed: dict[str, Any] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise ConfigError(f"--quantize-option {pair!r} is not KEY=VALUE", "write it like --quantize-option per_channel=false")
        try:
            parsed[key] = json.loads(value)
        except json.JSONDecodeError:
            parsed[key] = value
    return parsed


@main.command()
@click.option("--json", "as_json", is_flag=True)
@_user_errors
def presets(as_json: bool) -> None:
    """List the preconfigured models and their specifications."""
    from embedpipe.config import ONNXPipelineConfig

    specs = ONNXPipelineConfig.show_preconfigured(include_properties=True)
    if as_json:
        _emit_json(specs)
        return
    table = Table("model", "properties (sources and the rest: --json)")
    for name, props in specs.items():  # type: ignore[union-attr]
        shown = {k: v for k, v in props.items() if not k.startswith("_") or k == "_embedding_dim"}
        table.add_row(name, ", ".join(f"{k.lstrip('_')}={v}" for k, v in shown.items()))
    out.print(table)


@main.command()
@click.option("--json", "as_json", is_flag=True)
def templates(as_json: bool) -> None:
    """List the configuration templates."""
    from embedpipe.config import TEMPLATES

    if as_json:
        _emit_json(TEMPLATES)
        return
    for name, props in TEMPLATES.items():
        out.print(f"{name}: {props}")


@main.command()
@click.option("--json", "as_json", is_flag=True)
@_user_errors
def plugins(as_json: bool) -> None:
    """List installed plugin distributions, versions and what each registers."""
    from embedpipe.plugins import get_plugin_manager

    manager = get_plugin_manager()
    infos = manager.plugins()
    if as_json:
        _emit_json(
            {
                "plugins": [vars(i) for i in infos],
                "failed": [vars(f) for f in manager.failures],
            }
        )
        return
    table = Table("plugin", "distribution", "version", "registers")
    for info in infos:
        table.add_row(info.name, info.distribution, info.version, "; ".join(f"{k}: {', '.join(v)}" for k, v in info.registers.items()))
    out.print(table)
    for failure in manager.failures:
        err.print(f"[yellow]skipped[/] {failure.name} ({failure.distribution}): {escape(failure.error)}", highlight=False, soft_wrap=True)


@main.command()
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--json", "as_json", is_flag=True)
@_user_errors
def inspect(file: Path, as_json: bool) -> None:
    """Show a graph's inputs, outputs, opsets, ops, size, metadata and build manifest."""
    from embedpipe.inspection import describe

    info = describe(file)
    if as_json:
        _emit_json(info)
        return
    for key, value in info.items():
        shown = json.dumps(value, indent=2, ensure_ascii=False) if key == "manifest" and value else value
        out.print(f"[bold]{key}[/]: {shown}", highlight=False)


@main.command()
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.argument("texts", nargs=-1, required=True)
@click.option("--json", "as_json", is_flag=True)
@_user_errors
def embed(file: Path, texts: tuple[str, ...], as_json: bool) -> None:
    """Embed TEXTS with a produced graph (ONNX Runtime in this process)."""
    from embedpipe.runtime import embed as run_embed
    from embedpipe.runtime import open_session

    vectors = run_embed(open_session(file), texts)
    if as_json:
        _emit_json([{"text": t, "embedding": v.tolist()} for t, v in zip(texts, vectors)])
        return
    for text, vector in zip(texts, vectors):
        out.print(f"{text!r}: dim={vector.shape[0]} [{', '.join(f'{v:.5f}' for v in vector[:8])}, ...]", highlight=False)


@main.command()
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.argument("texts", nargs=-1, required=True)
@click.option("--json", "as_json", is_flag=True)
@_user_errors
def score(file: Path, texts: tuple[str, ...], as_json: bool) -> None:
    """Score with a reranker graph (TEXTS: a query, then passages: one score each) or a classifier graph
    (TEXTS: the text, or a pair for a pair graph: each label's probability)."""
    from embedpipe.runtime import scored

    rows = scored(file, texts)
    if as_json:
        _emit_json(rows)
        return
    for row in rows:  # every label's value only in --json
        shown = {key: value for key, value in row.items() if not isinstance(value, dict)}
        out.print("  ".join(f"{key}={value:.6f}" if isinstance(value, float) else f"{key}={value!r}" for key, value in shown.items()), highlight=False)


@main.command()
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--reference", required=True, help="The model (hub id or folder) the graph was made from.")
@click.option("--corpus", type=click.Path(exists=True, dir_okay=False, path_type=Path), help="One text per line (default: built-in samples).")
@click.option("--json", "as_json", is_flag=True)
@_user_errors
def validate(file: Path, reference: str, corpus: Path | None, as_json: bool) -> None:
    """Compare a produced graph with sentence-transformers on the reference model."""
    _quiet_libraries()
    from embedpipe.pipeline import pipeline_for_graph

    texts = corpus.read_text(encoding="utf-8").splitlines() if corpus else None
    with out.status("validating", spinner="dots") as status:
        pipe = pipeline_for_graph(file, reference, progress=lambda step: status.update(step))
        report = pipe.validate(texts, model=file)
    if as_json:
        _emit_json(report.to_dict())
    else:
        out.print(report.summary(), highlight=False)
    if not report.ok:
        sys.exit(1)


@main.command("tokens")
@click.argument("model")
@click.option("--tokenizer", help="Tokenizer plugin to measure (default: the one chosen for the model).")
@click.option("--max-seq-length", type=int, help="Truncation length (default: as the model declares).")
@click.option("--corpus", type=click.Path(exists=True, dir_okay=False, path_type=Path), help="One text per line (default: built-in samples).")
@click.option("--json", "as_json", is_flag=True)
@_user_errors
def tokens(model: str, tokenizer: str | None, max_seq_length: int | None, corpus: Path | None, as_json: bool) -> None:
    """Compare the in-graph tokenizer's ids with the model's Hugging Face tokenizer, per input class."""
    _quiet_libraries()
    from embedpipe.config import ONNXPipelineConfig
    from embedpipe.pipeline import ONNXPipeline
    from embedpipe.samples import SAMPLES
    from embedpipe.tokenparity import compare_token_ids

    texts = corpus.read_text(encoding="utf-8").splitlines() if corpus else list(SAMPLES)
    with out.status("building the tokenizer stage", spinner="dots"):
        pipe = ONNXPipeline(model, ONNXPipelineConfig(tokenizer=tokenizer, max_seq_length=max_seq_length))
        report = compare_token_ids(pipe.tokenizer_graph(), pipe.source.path, texts, pipe.settings.max_seq_length)
    if as_json:
        _emit_json({"tokenizer": pipe.settings.tokenizer, **report.to_dict()})
    else:
        out.print(f"tokenizer {pipe.settings.tokenizer!r} against Hugging Face, max_seq_length {pipe.settings.max_seq_length}")
        out.print(report.rich_table())
