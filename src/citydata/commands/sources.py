"""``citydata connectors`` and ``citydata probe``: what the sources are and what is in them."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from citydata.commands.common import console
from citydata.commands.common import settings_from_env as _settings


def connectors_cmd(name: str | None = typer.Argument(None, help="One connector or department code.")) -> None:
    """Validate and list the connector definitions (or one connector's tables)."""
    from citydata.ingest.config import find_connector, load_connectors

    connectors = load_connectors(_settings().connectors_dir)
    if name is None:
        for c in connectors:
            console.print(f"{c.name:<20} {c.department.name_zh:<16} " + ", ".join(c.topic(t) for t in c.tables))
        return
    c = find_connector(connectors, name)
    where = f"database {c.connection.database}" if c.connection else f"folder {c.files.directory}"
    console.print(f"{c.name}: {c.department.name_zh} ({c.department.name_en}), {c.type} {where}")
    for t in c.tables:
        console.print(f"  {c.topic(t)}  key {', '.join(t.primary_key)}  columns {', '.join(t.columns)}")



def probe(
    connector: str = typer.Argument(..., help="Connector name or department code."),
    synthetic: bool = typer.Option(False, help="Probe the synthetic city in an embedded PostgreSQL instead."),
    out: Path | None = typer.Option(None, help="Write the probe as JSON here."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON instead of a table."),
) -> None:
    """数据探查: tables, keys, row counts, null rates and sample formats of a source."""
    from contextlib import ExitStack

    from citydata.ingest.config import find_connector, load_connectors
    from citydata.ingest.probe import probe as run_probe
    from citydata.services.stack import mysql_source_server, source_server

    settings = _settings()
    connectors = load_connectors(settings.connectors_dir)
    cfg = find_connector(connectors, connector)
    with ExitStack() as stack:
        if synthetic:
            from citydata.services.postgres import EmbeddedPostgres
            from citydata.synth import generate, load_initial

            server = stack.enter_context(EmbeddedPostgres())
            load_initial(generate(settings.synth.persons, settings.synth.seed), server, connectors)
        elif cfg.type == "mysql":
            server = mysql_source_server(cfg)
        else:
            server = source_server(cfg, settings)
        tables = run_probe(cfg, server)
    payload = json.dumps({"connector": cfg.name, "tables": tables}, ensure_ascii=False, indent=2)
    if out:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(payload, encoding="utf-8")
    if as_json:
        console.print_json(payload)
        return
    _print_probe(cfg.name, tables)


def _print_probe(name: str, tables: list[dict]) -> None:
    from rich.table import Table

    for t in tables:
        title = (f"{name} · {t['schema']}.{t['table']} · {t['rows']:,} rows · key {', '.join(t['primary_key']) or '—'}"
                 f" · replica identity {t['replica_identity']}")
        table = Table(title=title)
        for col in ("column", "type", "null rate", "distinct (sample)", "formats", "example"):
            table.add_column(col)
        for c in t["columns"]:
            formats = ", ".join(f"{k} {v:.0%}" for k, v in list(c["formats"].items())[:3])
            table.add_row(c["name"] + ("" if c["declared"] else " (undeclared)"), c["type"], f"{c['null_rate']:.1%}",
                          str(c["distinct_in_sample"]), formats, (c["example"] or "")[:24])
        console.print(table)
        for problem in t["problems"]:
            console.print(f"[yellow]problem:[/] {problem}")
