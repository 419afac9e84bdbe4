"""Rich tables of a gate run and of department scorecards, shared by ``citydata gate`` and the demo."""

from __future__ import annotations

from rich.table import Table

from citydata.quality.gate import GateResult


def _share(value: float | None) -> str:
    return "" if value is None else f"{value:.1%}"


def gate_table(result: GateResult, only_failures: bool = False) -> Table:
    table = Table(title="quality gate")
    for col in ("table", "expectation", "column", "severity", "result", "unexpected", "department"):
        table.add_column(col)
    for t in result.tables:
        for e in t.expectations:
            if only_failures and e.success:
                continue
            table.add_row(t.table, e.expectation, e.column or "", e.severity,
                          "[green]pass[/]" if e.success else "[red]FAIL[/]", str(e.unexpected_count),
                          e.department or "")
    return table


def scorecard_table(rows: list[dict]) -> Table:
    """Department scorecards (``scorecards.department_scorecards`` rows)."""
    table = Table(title="department scorecards")
    for col in ("department", "datasets", "rows", "completeness", "validity", "uniqueness", "consistency",
                "timeliness (h)"):
        table.add_column(col, justify="left" if col == "department" else "right")
    for r in rows:
        hours = r.get("timeliness_hours")
        table.add_row(str(r["department"]), str(r["datasets"]), str(r["rows"]), _share(r.get("completeness")),
                      _share(r.get("validity")), _share(r.get("uniqueness")), _share(r.get("consistency")),
                      "" if hours is None else f"{hours:.1f}")
    return table
