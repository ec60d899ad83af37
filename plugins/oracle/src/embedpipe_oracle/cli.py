"""``embedpipe load`` and ``embedpipe sql``. There is deliberately no --password option: the password
comes from EMBEDPIPE_ORACLE_PASSWORD or a hidden prompt, never from the command line."""

from __future__ import annotations

import json
import os
import secrets
from pathlib import Path

import click
from embedpipe.errors import ConfigError, ExportError
from rich.console import Console
from rich.markup import escape

out = Console(soft_wrap=True)
err = Console(stderr=True, soft_wrap=True)
_FILE = click.Path(exists=True, dir_okay=False, path_type=Path)


def _prompt(label: str) -> str:
    try:
        return str(click.prompt(label, hide_input=True, err=True, default="", show_default=False))
    except click.Abort:
        raise ConfigError("no password was given", "set EMBEDPIPE_ORACLE_PASSWORD or type it at the prompt") from None


def _warn(line: str) -> None:
    """A warning as one stderr line, styled like the "error:" lines of embedpipe's CLI."""
    err.print(f"[bold yellow]warning:[/] {escape(line)}", highlight=False)


@click.command("load")
@click.argument("file", type=_FILE)
@click.option("--name", required=True, help="Model name in the database (letters, digits, _ $ #; at most 123).")
@click.option("--replace", is_flag=True, help="Replace a model of that name, keeping the old one until the new one is verified.")
@click.option(
    "--directory", metavar="DIR", help="Load from this server directory object (FILE's copy there); needed for external data."
)
@click.option("--dsn", help="host:port/service_name or a TNS alias (default: EMBEDPIPE_ORACLE_DSN).")
@click.option("--user", help="Database user (default: EMBEDPIPE_ORACLE_USER).")
@click.option("--config-dir", help="Folder with tnsnames.ora (default: EMBEDPIPE_ORACLE_CONFIG_DIR).")
@click.option("--wallet-location", help="Wallet folder for mTLS (default: EMBEDPIPE_ORACLE_WALLET_LOCATION).")
@click.option("--distance-metric", "distance_metrics", multiple=True, help="Metadata's suitableDistanceMetrics (repeatable).")
@click.option("--language", "languages", multiple=True, help="Metadata's languages (repeatable).")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON report.")
def load(
    file: Path,
    name: str,
    replace: bool,
    directory: str | None,
    distance_metrics: tuple[str, ...],
    languages: tuple[str, ...],
    as_json: bool,
    **connect: str | None,
) -> None:
    """Load FILE into Oracle Database as NAME and verify it there (password: EMBEDPIPE_ORACLE_PASSWORD or a prompt)."""
    from embedpipe_oracle.load import load_file

    with out.status(f"loading {file.name} as {name}", spinner="dots"):
        result = load_file(
            file,
            name,
            replace=replace,
            directory=directory,
            distance_metrics=distance_metrics or None,
            languages=languages or None,
            connect={k: v for k, v in connect.items() if v},
            prompt=_prompt,
            warn=_warn,
        )
    if as_json:
        click.echo(json.dumps({**vars(result), "query": result.query}, indent=2, ensure_ascii=False))
        return
    verb = "replaced" if result.replaced else "loaded"
    out.print(f"{verb} {result.name}: {result.checked}")
    out.print(f"try: {result.query}", highlight=False)
    if result.inmemory_sql:
        out.print(f"share its external weights across sessions: {result.inmemory_sql}", highlight=False)


@click.command("sql")
@click.argument("file", type=_FILE)
@click.option("--name", required=True, help="Model name in the database (letters, digits, _ $ #; at most 123).")
@click.option("--directory", default="DM_DUMP", show_default=True, help="The directory object the files are copied into.")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), help="Write the script here (default: stdout).")
@click.option("--distance-metric", "distance_metrics", multiple=True, help="Metadata's suitableDistanceMetrics (repeatable).")
@click.option("--language", "languages", multiple=True, help="Metadata's languages (repeatable).")
def sql(
    file: Path, name: str, directory: str, output: Path | None, distance_metrics: tuple[str, ...], languages: tuple[str, ...]
) -> None:
    """Write a SQL*Plus script that loads FILE from a database directory object as NAME and verifies it."""
    from embedpipe_oracle.files import model_files
    from embedpipe_oracle.load import open_graph
    from embedpipe_oracle.metadata import build_metadata, graph_facts
    from embedpipe_oracle.names import check_directory_name, check_model_name
    from embedpipe_oracle.ops import undocumented_ops_warning
    from embedpipe_oracle.script import render
    from embedpipe_oracle.verify import expected_rows

    name, directory = check_model_name(name), check_directory_name(directory)
    files = model_files(file)
    warning = undocumented_ops_warning(files.model)
    if warning:
        _warn(warning)
    session = open_graph(files.model)
    facts = graph_facts(session)
    metadata = build_metadata(facts, distance_metrics=distance_metrics or None, languages=languages or None)
    script = render(files, name, directory, metadata, expected_rows(session, facts), warning=warning)
    if output is None:
        click.echo(script, nl=False)
        return
    _write_atomically(output, script)
    out.print(
        f"wrote {output}: copy {', '.join(p.name for p in files.all)} into directory {directory}, then run it in SQL*Plus or SQLcl"
    )


def _write_atomically(target: Path, text: str) -> None:
    temporary = target.with_name(f".{target.name}.{secrets.token_hex(6)}.tmp")
    try:
        temporary.write_text(text, encoding="utf-8")
        os.replace(temporary, target)
    except OSError as exc:
        temporary.unlink(missing_ok=True)
        raise ExportError(f"cannot write {target} ({exc.strerror or exc})", "choose a writable path for -o") from exc
