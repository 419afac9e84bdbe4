"""``citydata gate`` and ``citydata resolution``: the quality verdict and entity-resolution accuracy."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from citydata.commands.common import console
from citydata.commands.common import settings_from_env as _settings
from citydata.errors import CityDataError


def resolution(
    warehouse: Path | None = typer.Option(None, help="A built DuckDB warehouse; omit to generate and build a "
                                                     "synthetic city."),
    truth: Path | None = typer.Option(None, help="Truth parquet (write_city's truth/identifiers.parquet)."),
    persons: int = typer.Option(1500, help="Synthetic persons (without --warehouse)."),
    seed: int = typer.Option(20261122, help="Synthetic seed (without --warehouse)."),
    work_dir: Path = typer.Option(Path("var/resolution"), help="Where the synthetic warehouse is built."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON instead of a report."),
) -> None:
    """Precision, recall and F1 of person entity resolution against the synthetic ground truth."""
    from citydata.resolution import evaluate_synthetic, evaluate_warehouse, report

    if warehouse is not None:
        if truth is None:
            raise CityDataError("--warehouse needs --truth: the truth/identifiers.parquet written with the city")
        result = evaluate_warehouse(warehouse, truth)
    else:
        result = evaluate_synthetic(persons, seed, work_dir)
    if as_json:
        console.print_json(json.dumps(result, default=str))
    else:
        console.print(report(result))


def gate(
    layer: list[str] = typer.Option(["raw", "marts"], help="Layers to validate (raw, staging, marts)."),
    out: Path | None = typer.Option(None, help="Write JSON results here (default: the settings' gate.json)."),
    run_at: str | None = typer.Option(None, help="The run's logical time (ISO) for freshness checks; default now."),
    incremental: bool = typer.Option(False, help="Row-level checks only on rows landed after the last passed "
                                                 "run's watermark."),
    postgres_url: str | None = typer.Option(None, help="Validate a PostgreSQL warehouse (postgresql://user@host:"
                                                       "port/db) with GE's SQL datasource instead of DuckDB."),
) -> None:
    """Validate the warehouse with the committed suites. Exit 0 on pass, 1 on a blocking failure."""
    from citydata.quality.gate import run_gate
    from citydata.quality.runs import previous_results, watermarks
    from citydata.quality.suites import load_suites
    from citydata.quality.tables import gate_table

    settings = _settings()
    suites = load_suites(settings.expectations_dir)
    if postgres_url:
        warehouse = _postgres(postgres_url)
        close = warehouse.close
    else:
        warehouse = _open(settings, read_only=not incremental)
        close = warehouse.close
    try:
        since = watermarks(warehouse) if incremental else None
        result = run_gate(warehouse, suites, layers=tuple(layer), run_at=run_at, since=since,
                          previous=previous_results(warehouse) if incremental else None)
    finally:
        close()
    console.print(gate_table(result))
    path = out or settings.gate_path
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(result.to_dict(), ensure_ascii=False, indent=2), encoding="utf-8")
    console.print(f"{'passed' if result.passed else 'BLOCKED'}: {len(result.failures())} blocking failure(s); "
                  f"results in {path}")
    raise typer.Exit(0 if result.passed else 1)


def _open(settings, read_only: bool):
    """The configured warehouse (DuckDB file or PostgreSQL, ``CITYDATA_WAREHOUSE__ENGINE``), open."""
    from citydata.warehouse.engine import open_warehouse

    if settings.warehouse.engine == "duckdb" and not settings.warehouse_path.exists():
        raise CityDataError(f"no warehouse at {settings.warehouse_path}: run `make demo` first")
    return open_warehouse(settings, read_only=read_only)


def _postgres(url: str):
    from citydata.quality.warehouses import PostgresWarehouse

    if not url.startswith(("postgresql://", "postgresql+psycopg2://")):
        raise CityDataError(f"--postgres-url {url!r}: expected postgresql://user[:password]@host:port/database")
    try:
        return PostgresWarehouse(url.replace("postgresql://", "postgresql+psycopg2://", 1))
    except Exception as exc:  # connection refused, bad credentials: one line
        raise CityDataError(f"cannot reach PostgreSQL at {url.split('@')[-1]}: {str(exc).splitlines()[0]}") from None


def quarantine(
    department: str | None = typer.Option(None, help="Only this department's rows (e.g. hrss)."),
    limit: int = typer.Option(50, min=1, help="Rows to show."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON lines instead of a table."),
) -> None:
    """List quarantined rows: the expectation they failed, the department that must fix them, the row."""
    from rich.table import Table

    from citydata.quality.quarantine import list_quarantined

    with _open(_settings(), read_only=True) as warehouse:
        frame = list_quarantined(warehouse, department)
    shown = frame.head(limit)
    if as_json:
        for record in shown.to_dict(orient="records"):
            console.print_json(json.dumps(record, default=str, ensure_ascii=False))
        return
    table = Table(title=f"quarantined rows{f' of {department}' if department else ''}: {len(frame)}")
    for col in ("table", "expectation", "column", "department", "run", "key"):
        table.add_column(col)
    for r in shown.itertuples(index=False):
        table.add_row(r._0, r._1, r._2 or "", r._3 or "", str(r._4), r._5)
    console.print(table)
