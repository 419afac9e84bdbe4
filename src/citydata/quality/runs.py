"""What each gate run decided, kept in the warehouse's ``quality`` schema (both engines):

- ``quality.gate_runs``: one row per run — logical time, full or incremental, verdict, whether it
  published, seconds;
- ``quality.gate_failures``: every failed expectation of a run — dataset, expectation, column,
  severity, rejected rows, dataset rows, the department whose data broke it, detail;
- ``quality.gate_watermarks``: per dataset, the newest load time a passed run validated; the next
  incremental run checks row by row only what landed after it.
"""

from __future__ import annotations

from typing import Any

from citydata.quality.gate import GateResult
from citydata.quality.warehouses import Warehouse

_DDL = (
    "create schema if not exists quality",
    "create table if not exists quality.gate_runs (run_at timestamp with time zone, mode varchar(16), "
    "passed boolean, published boolean, seconds double precision, datasets integer, blocking_failures integer)",
    "create table if not exists quality.gate_failures (run_at timestamp with time zone, dataset varchar(200), "
    "expectation varchar(200), column_name varchar(200), severity varchar(8), unexpected_count bigint, "
    "dataset_rows bigint, department varchar(64), detail varchar(1000))",
    "create table if not exists quality.gate_watermarks (dataset varchar(200), watermark timestamp with time zone, "
    "run_at timestamp with time zone)",
)


def _ensure(warehouse: Warehouse) -> None:
    for statement in _DDL:
        warehouse.execute(statement)


def record_run(warehouse: Warehouse, gate: GateResult, run_at: str, *, mode: str, published: bool) -> None:
    """Replace this ``run_at``'s record with what the gate found (re-running a run does not add history)."""
    _ensure(warehouse)
    with warehouse.transaction():
        for table in ("gate_runs", "gate_failures"):
            warehouse.execute(f"delete from quality.{table} where run_at = cast(? as timestamp with time zone)",
                              [run_at])
        warehouse.execute("insert into quality.gate_runs values (cast(? as timestamp with time zone), ?, ?, ?, ?, ?, ?)",
                          [run_at, mode, gate.passed, published, round(gate.seconds, 3), len(gate.tables),
                           len(gate.failures())])
        for table in gate.tables:
            for e in table.expectations:
                if e.success:
                    continue
                warehouse.execute(
                    "insert into quality.gate_failures values (cast(? as timestamp with time zone), ?, ?, ?, ?, ?, ?, "
                    "?, ?)", [run_at, table.table, e.expectation, e.column, e.severity, e.unexpected_count,
                              table.rows, e.department, e.detail[:1000]])


def failures(warehouse: Warehouse, run_at: str | None = None) -> list[dict[str, Any]]:
    """The failures of one run (the latest when ``run_at`` is None), blocking first."""
    _ensure(warehouse)
    rows = warehouse.rows(
        "select run_at, dataset, expectation, column_name, severity, unexpected_count, dataset_rows, department, "
        "detail from quality.gate_failures where run_at = coalesce(cast(? as timestamp with time zone), "
        "(select max(run_at) from quality.gate_runs)) order by severity, dataset, expectation", [run_at])
    names = ("run_at", "dataset", "expectation", "column", "severity", "unexpected_count", "rows", "department",
             "detail")
    return [dict(zip(names, r)) for r in rows]


def watermarks(warehouse: Warehouse) -> dict[str, str]:
    """Dataset → newest load time validated by a passed run (ISO)."""
    _ensure(warehouse)
    return {dataset: mark.isoformat() for dataset, mark in warehouse.rows(
        "select dataset, watermark from quality.gate_watermarks where watermark is not null")}


def save_watermarks(warehouse: Warehouse, gate: GateResult, run_at: str) -> None:
    """After a passed run: its datasets are validated up to their newest load time."""
    _ensure(warehouse)
    with warehouse.transaction():
        for table in gate.tables:
            if table.watermark is None:
                continue
            warehouse.execute("delete from quality.gate_watermarks where dataset = ?", [table.table])
            warehouse.execute("insert into quality.gate_watermarks values (?, cast(? as timestamp with time zone), "
                              "cast(? as timestamp with time zone))", [table.table, table.watermark, run_at])
