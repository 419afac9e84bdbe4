"""What each gate run decided, kept in the warehouse's ``quality`` schema (both engines):

- ``quality.gate_runs``: one row per run — logical time, full or incremental, verdict, whether it
  published, seconds;
- ``quality.gate_failures``: every failed expectation of a run — dataset, expectation, column,
  severity, rejected rows, dataset rows, the department whose data broke it, detail;
- ``quality.gate_results``: every expectation's result of a run, with the dataset's rows, newest load
  time and (raw views) change-log signature — what an incremental run carries for a raw view nothing
  landed in since the last passed run;
- ``quality.gate_watermarks``: per dataset, the newest load time a passed run validated; the next
  incremental run checks row by row only what landed after it.
"""

from __future__ import annotations

from typing import Any

from citydata.quality.gate import ExpectationResult, GateResult, PreviousRun
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
    "create table if not exists quality.gate_results (run_at timestamp with time zone, dataset varchar(200), "
    "check_key varchar(32), expectation varchar(200), column_name varchar(200), severity varchar(8), "
    "department varchar(64), success boolean, unexpected_count bigint, observed varchar(1000), "
    "detail varchar(1000), dataset_rows bigint, watermark varchar(64), signature varchar(100), "
    "distinct_keys bigint, profile_key varchar(200))",
    # added after the first release: a warehouse gated before has the table without them
    "alter table quality.gate_results add column if not exists distinct_keys bigint",
    "alter table quality.gate_results add column if not exists profile_key varchar(200)",
)
_RESULT_COLUMNS = ("check_key", "expectation", "column_name", "severity", "department", "success",
                   "unexpected_count", "observed", "detail")


def _ensure(warehouse: Warehouse) -> None:
    for statement in _DDL:
        warehouse.execute(statement)


def record_run(warehouse: Warehouse, gate: GateResult, run_at: str, *, mode: str, published: bool) -> None:
    """Replace this ``run_at``'s record with what the gate found (re-running a run does not add history)."""
    _ensure(warehouse)
    with warehouse.transaction():
        for table in ("gate_runs", "gate_failures", "gate_results"):
            warehouse.execute(f"delete from quality.{table} where run_at = cast(? as timestamp with time zone)",
                              [run_at])
        warehouse.execute("insert into quality.gate_runs values (cast(? as timestamp with time zone), ?, ?, ?, ?, ?, ?)",
                          [run_at, mode, gate.passed, published, round(gate.seconds, 3), len(gate.tables),
                           len(gate.failures())])
        rows = [[run_at, t.table, e.check, e.expectation, e.column, e.severity, e.department, e.success,
                 e.unexpected_count, None if e.observed is None else str(e.observed)[:1000], e.detail[:1000],
                 t.rows, t.watermark, t.signature, t.profile.distinct_keys if t.profile else None,
                 t.profile.key if t.profile else None] for t in gate.tables for e in t.expectations]
        if rows:
            warehouse.execute("insert into quality.gate_results values " + ", ".join(
                ["(cast(? as timestamp with time zone), ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"] * len(rows)),
                [v for row in rows for v in row])
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


def previous_results(warehouse: Warehouse) -> dict[str, PreviousRun]:
    """Dataset → what the passed run that set its watermark found (``gate.PreviousRun``)."""
    _ensure(warehouse)
    got = warehouse.rows(
        "select r.dataset, w.run_at, r.dataset_rows, r.watermark, r.signature, r.distinct_keys, r.profile_key, "
        f"{', '.join('r.' + c for c in _RESULT_COLUMNS)} "
        "from quality.gate_results as r inner join quality.gate_watermarks as w "
        "on w.dataset = r.dataset and w.run_at = r.run_at")
    out: dict[str, PreviousRun] = {}
    for dataset, run_at, rows, watermark, signature, distinct_keys, profile_key, *result in got:
        values = dict(zip(_RESULT_COLUMNS, result))
        previous = out.setdefault(dataset, PreviousRun(
            run_at.isoformat(), int(rows), watermark, signature, {},
            None if distinct_keys is None else int(distinct_keys), profile_key))
        previous.results[values["check_key"]] = ExpectationResult(
            values["expectation"], values["column_name"], bool(values["success"]), int(values["unexpected_count"]),
            values["severity"], values["department"], detail=values["detail"] or "", observed=values["observed"],
            check=values["check_key"])
    return out


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
