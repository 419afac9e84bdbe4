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
    layer: list[str] = typer.Option(["raw", "marts"], help="Layers to validate."),
    out: Path | None = typer.Option(None, help="Write JSON results here."),
) -> None:
    """Validate the warehouse with the committed suites. Exit 0 on pass, 1 on a blocking failure."""
    from rich.table import Table

    from citydata.quality.gate import run_gate
    from citydata.quality.suites import load_suites
    from citydata.warehouse import duck

    settings = _settings()
    if not settings.warehouse_path.exists():
        raise CityDataError(f"no warehouse at {settings.warehouse_path}: run `make demo` first")
    con = duck.connect(settings.warehouse_path, read_only=True)
    result = run_gate(con, load_suites(settings.expectations_dir), layers=tuple(layer))
    con.close()
    table = Table(title="quality gate")
    for col in ("table", "expectation", "column", "severity", "result", "unexpected"):
        table.add_column(col)
    for t in result.tables:
        for e in t.expectations:
            table.add_row(t.table, e.expectation, e.column or "", e.severity,
                          "[green]pass[/]" if e.success else "[red]FAIL[/]", str(e.unexpected_count))
    console.print(table)
    path = out or settings.gate_path
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(result.to_dict(), ensure_ascii=False, indent=2), encoding="utf-8")
    raise typer.Exit(0 if result.passed else 1)
