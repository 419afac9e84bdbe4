"""Quarantine: copy the rows a row-level expectation rejected into ``quarantine.<schema>__<table>``.

The failing rows are computed in SQL that runs on both warehouses (DuckDB and PostgreSQL; regular
expressions through ``warehouses.regex_matches``), written to mean what the Great Expectations
expectation means where the gate validates it (nulls are "missing", not "unexpected", except for the null
expectations; ``row_condition`` restricts the rows), so the number of rows found equals the gate's
``unexpected_count``. Expectations without a SQL translation here quarantine nothing (``quarantine_rows``
returns 0 and ``supports`` says False).

Each quarantined row carries ``_expectation``, ``_column``, ``_department``, ``_quarantined_at`` (the
run's logical time, passed in, never now()) and ``_key`` (the key columns joined with ``|``), then the
row's own columns. Writing is idempotent per (run, expectation, column, key).
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

import pandas as pd

from citydata.quality.conditions import literal as _literal
from citydata.quality.conditions import row_condition_sql as _row_condition
from citydata.quality.gate import LOAD_TIME_COLUMNS, ROW_LEVEL, plan
from citydata.quality.profile import OCCURRENCE_KEY
from citydata.quality.suites import ExpectationSpec, Suite
from citydata.quality.unchanged import change_log
from citydata.quality.warehouses import Warehouse, as_warehouse, columns, regex_matches, tables_in
from citydata.quality.warehouses import physical as _physical
from citydata.quality.warehouses import quote as _ident
from citydata.warehouse.raw import current_rows_where

QUARANTINE_SCHEMA = "quarantine"
META_COLUMNS = ("_expectation", "_column", "_department", "_quarantined_at", "_key")
_REJECTED = "citydata_rejected_rows"  # a temporary table, per quarantined expectation


def _in_list(values: list[Any]) -> str:
    return "(" + ", ".join(_literal(v) for v in values) + ")"


def _between(c: str, kw: dict[str, Any], engine: str, expr: str | None = None) -> str:
    expr = expr or c
    checks = []
    if kw.get("min_value") is not None:
        checks.append(f"{expr} {'>' if kw.get('strict_min') else '>='} {_literal(kw['min_value'])}")
    if kw.get("max_value") is not None:
        checks.append(f"{expr} {'<' if kw.get('strict_max') else '<='} {_literal(kw['max_value'])}")
    return f"{c} is not null and not ({' and '.join(checks) or 'true'})"


def _matches(c: str, kw: dict[str, Any], engine: str) -> str:
    return regex_matches(engine, f"cast({c} as varchar)", _literal(kw["regex"]))


# expectation type → (quoted column, kwargs, engine) → SQL predicate true for an unexpected row
_PREDICATES: dict[str, Callable[[str, dict[str, Any], str], str]] = {
    "expect_column_values_to_not_be_null": lambda c, kw, engine: f"{c} is null",
    "expect_column_values_to_be_null": lambda c, kw, engine: f"{c} is not null",
    "expect_column_values_to_match_regex": lambda c, kw, engine: f"{c} is not null and not {_matches(c, kw, engine)}",
    "expect_column_values_to_not_match_regex": lambda c, kw, engine: f"{c} is not null and {_matches(c, kw, engine)}",
    "expect_column_values_to_be_in_set":
        lambda c, kw, engine: f"{c} is not null and {c} not in {_in_list(list(kw['value_set']))}",
    "expect_column_values_to_not_be_in_set":
        lambda c, kw, engine: f"{c} is not null and {c} in {_in_list(list(kw['value_set']))}",
    "expect_column_values_to_be_between": _between,
    "expect_column_value_lengths_to_equal":
        lambda c, kw, engine: f"{c} is not null and length(cast({c} as varchar)) <> {int(kw['value'])}",
    "expect_column_value_lengths_to_be_between":
        lambda c, kw, engine: _between(c, kw, engine, f"length(cast({c} as varchar))"),
    "expect_column_values_to_be_unique":
        lambda c, kw, engine: f"{c} is not null and count(*) over (partition by {c}) > 1",
}


def supports(spec: ExpectationSpec) -> bool:
    """Whether ``spec`` is a row-level expectation this module can translate to SQL."""
    return spec.expectation in _PREDICATES and spec.column is not None and _row_condition(spec.kwargs) is not None


def failing_rows_sql(table: str, spec: ExpectationSpec, table_columns: list[str], engine: str = "duckdb",
                     partition: str | None = None, log: str | None = None) -> str | None:
    """``select`` of ``table_columns`` for the rows of ``table`` that ``spec`` rejects, or None when not
    translatable. ``partition`` (SQL) restricts a row-level check to the changed rows, as the incremental
    gate does. ``log``: the change log behind ``table``, a raw current-state view; the rejected rows are
    then found in the log (``raw.current_rows_where``), not by ranking every key's events through the view."""
    if not supports(spec):
        return None
    predicate = _PREDICATES[spec.expectation](_ident(spec.column), spec.kwargs, engine)
    names = ", ".join(_ident(c) for c in table_columns)
    conditions = [_row_condition(spec.kwargs)] + ([partition] if partition and ROW_LEVEL.match(spec.expectation) else [])
    scope = f"select {names} from {_physical(table)} where {' and '.join(conditions)}"
    if "over (" in predicate:  # a window: evaluate it inside the row scope, then filter
        return (f"select {names} from (select {names}, ({predicate}) as _unexpected from ({scope}) as scoped) "
                "as judged where _unexpected")
    if log is not None:
        rejected = " and ".join(f"({c})" for c in [*conditions, predicate])
        return f"select {names} from ({current_rows_where(_physical(log), rejected)}) as rejected"
    return f"select {names} from ({scope}) as scoped where {predicate}"


def quarantine_table(table: str) -> str:
    schema, _, name = table.partition(".")
    return f"{QUARANTINE_SCHEMA}.{schema}__{name}"


def quarantine_rows(target: Any, table: str, spec: ExpectationSpec,
                    key_columns: list[str], *, run_at: str, partition: str | None = None,
                    log: str | None = None) -> int:
    """Copy the rows of ``table`` that ``spec`` rejects into ``quarantine.<schema>__<table>``
    (``target``: a DuckDB connection or a warehouse from ``warehouses.py``); ``partition`` and ``log`` as
    for :func:`failing_rows_sql`.

    Returns the number of rejected rows (GE's ``unexpected_count`` for the same table and spec), or 0
    when the expectation has no SQL translation here. Re-running for the same ``run_at`` adds nothing."""
    warehouse = as_warehouse(target)
    source_columns = columns(warehouse, table)
    select = failing_rows_sql(table, spec, source_columns, warehouse.engine, partition, log)
    if select is None:
        return 0
    if not key_columns:
        raise ValueError("key_columns must name the columns that identify a row")
    target_table = quarantine_table(table)
    key = "concat_ws('|', " + ", ".join(f"coalesce(cast({_ident(k)} as varchar), '')" for k in key_columns) + ")"
    # a source column named like a quarantine column (a raw view's own _key) is kept as <name>_1
    kept = {c: f"{c}_1" if c in META_COLUMNS else c for c in source_columns}
    staged = (f"select cast(? as varchar) as _expectation, cast(? as varchar) as _column, "
              f"cast(? as varchar) as _department, cast(? as timestamp with time zone) as _quarantined_at, "
              f"{key} as _key, {', '.join(f'{_ident(c)} as {_ident(a)}' for c, a in kept.items())} "
              f"from ({select}) as rejected")
    params = [spec.expectation, spec.column, spec.department, run_at]
    warehouse.execute(f"create schema if not exists {_ident(QUARANTINE_SCHEMA)}")
    have = columns(warehouse, target_table)
    if not have:
        warehouse.execute(f"create table {_physical(target_table)} as select * from ({staged}) as s limit 0", params)
    else:  # the source grew columns since the quarantine table was created
        for name, dtype in warehouse.describe(staged, params):
            if name not in have:
                warehouse.execute(f"alter table {_physical(target_table)} add column {_ident(name)} {dtype}")
    # the rejected rows are computed once (a raw current-state view recomputes its dedup on every read)
    warehouse.execute(f"drop table if exists {_REJECTED}")
    warehouse.execute(f"create temporary table {_REJECTED} as {staged}", params)
    try:
        found = warehouse.rows(f"select count(*) from {_REJECTED}")[0][0]
        names = ", ".join(_ident(c) for c in [*META_COLUMNS, *kept.values()])
        warehouse.execute(
            f"insert into {_physical(target_table)} ({names}) select {names} from ("
            f"select s.*, row_number() over (partition by s._key) as _nth from {_REJECTED} as s where not exists ("
            f"select 1 from {_physical(target_table)} as q where q._quarantined_at = s._quarantined_at "
            "and q._expectation = s._expectation and q._column is not distinct from s._column and q._key = s._key)"
            ") as new where _nth = 1")
    finally:
        warehouse.execute(f"drop table if exists {_REJECTED}")
    return int(found)


def _default_key(warehouse: Warehouse, table: str) -> list[str]:
    present = columns(warehouse, table)
    return OCCURRENCE_KEY if set(OCCURRENCE_KEY) <= set(present) else present[:1]


def specs_by_table(target: Any, suites: list[Suite]) -> dict[str, list[ExpectationSpec]]:
    """Every table the suites cover → its expectations, in the order the gate reports them."""
    layers = tuple({suite.layer for suite in suites})
    return {table: entry.expectations for table, entry in plan(as_warehouse(target), suites, layers).items()}


def _paired(table_result: Any, specs: list[ExpectationSpec]) -> list[tuple[ExpectationSpec, Any]]:
    """A table's gate results, each with the spec it came from."""
    out = []
    used: set[int] = set()
    for result in table_result.expectations:
        # the gate keeps suite order (missing columns last): take the first unused equal spec
        index = next((i for i, s in enumerate(specs) if i not in used and s.expectation == result.expectation
                      and s.column == result.column), None)
        if index is not None:
            used.add(index)
            out.append((specs[index], result))
    return out


def gate_specs(target: Any, suites: list[Suite], gate: Any) -> list[tuple[str, ExpectationSpec, Any]]:
    """Pair every gate result with the spec it came from: ``(table, spec, ExpectationResult)``."""
    specs = specs_by_table(target, suites)
    return [(t.table, spec, result) for t in gate.tables for spec, result in _paired(t, specs.get(t.table, []))]


def changed_partition(target: Any, table: str, since: dict[str, str] | None) -> str | None:
    """The SQL condition the incremental gate used for ``table``'s row-level checks, if any."""
    if not since or table not in since:
        return None
    present = set(columns(as_warehouse(target), table))
    load_time = next((c for c in LOAD_TIME_COLUMNS if c in present), None)
    return f"{_ident(load_time)} > cast({_literal(since[table])} as timestamp with time zone)" if load_time else None


def quarantine_table_result(target: Any, table_result: Any, specs: list[ExpectationSpec], run_at: str,
                            key_columns: list[str] | None = None, include_passing: bool = False,
                            since: dict[str, str] | None = None) -> dict[str, int]:
    """:func:`quarantine_gate` for one table's gate result (``specs``: the table's, from
    :func:`specs_by_table`)."""
    warehouse = as_warehouse(target)
    table = table_result.table
    # an incremental run's changed partition is empty: its rejected rows were quarantined before
    untouched = bool(since and table in since and table_result.rows_validated == 0)
    out: dict[str, int] = {}
    for spec, result in _paired(table_result, specs):
        if result.unexpected_count == 0 or (result.success and not include_passing) or not supports(spec):
            continue
        if untouched and ROW_LEVEL.match(spec.expectation):
            continue
        if result.detail:  # table or column missing, or carried from a run that quarantined them: nothing to copy
            continue
        keys = key_columns or _default_key(warehouse, table)
        label = f"{table}:{spec.expectation}:{spec.column}"
        out[label] = out.get(label, 0) + quarantine_rows(warehouse, table, spec, keys, run_at=run_at,
                                                         partition=changed_partition(warehouse, table, since),
                                                         log=change_log(warehouse, table))
    return out


def quarantine_gate(target: Any, suites: list[Suite], gate: Any, run_at: str,
                    key_columns: dict[str, list[str]] | None = None,
                    include_passing: bool = False, since: dict[str, str] | None = None) -> dict[str, int]:
    """Quarantine the rejected rows of every failed (or, with ``include_passing``, every non-clean)
    row-level expectation of a gate run. ``key_columns`` maps a table to its key; a table without one
    uses the identifier-occurrence key when it has those columns, else its first column. Returns
    ``{"<table>:<expectation>:<column>": rows}`` for what was quarantined."""
    warehouse = as_warehouse(target)
    specs = specs_by_table(warehouse, suites)
    out: dict[str, int] = {}
    for table_result in gate.tables:
        out.update(quarantine_table_result(warehouse, table_result, specs.get(table_result.table, []), run_at,
                                           (key_columns or {}).get(table_result.table), include_passing, since))
    return out


class QuarantineAlongside:
    """Quarantine each table's rejected rows (as :func:`quarantine_gate` with ``include_passing``) on a
    worker thread with its own cursor, as soon as the gate has judged the table (``run_gate``'s
    ``judged``): DuckDB copies rows while GE judges the next table. :meth:`finish` waits and returns
    what was quarantined, raising what quarantining raised."""

    def __init__(self, target: Any, suites: list[Suite], run_at: str, since: dict[str, str] | None = None):
        self._warehouse = as_warehouse(target)
        self._specs = specs_by_table(self._warehouse, suites)
        self._run_at, self._since = run_at, since
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="citydata-quarantine")
        self._worker = self._warehouse.worker()
        self._pending: list[Future[dict[str, int]]] = []

    def __enter__(self) -> QuarantineAlongside:
        return self

    def __exit__(self, *exc: object) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)
        self._worker.close()

    def __call__(self, table_result: Any) -> None:
        self._pending.append(self._pool.submit(
            quarantine_table_result, self._worker, table_result, self._specs.get(table_result.table, []),
            self._run_at, None, True, self._since))

    def finish(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for done in self._pending:
            out.update(done.result())
        return out


def list_quarantined(target: Any, department: str | None = None) -> pd.DataFrame:
    """Every quarantined row (optionally only one department's), newest run first: the source table,
    the expectation, column, department, run time, key, and the row itself as JSON."""
    warehouse = as_warehouse(target)
    result_columns = ["_table", *META_COLUMNS, "_record"]
    tables = tables_in(warehouse, QUARANTINE_SCHEMA)
    if not tables:
        return pd.DataFrame(columns=result_columns)
    parts = []
    for name in tables:
        schema, _, table = name.partition("__")
        relation = _physical(QUARANTINE_SCHEMA + "." + name)
        ordered = [c for c in columns(warehouse, QUARANTINE_SCHEMA + "." + name) if c not in META_COLUMNS]
        ordered = ", ".join(_ident(c) for c in [*ordered, *META_COLUMNS])
        parts.append(
            f"select {_literal(schema + '.' + table)} as _table, _expectation, _column, _department, "
            f"_quarantined_at, _key, cast(to_json(r) as varchar) as _record from (select {ordered} from {relation}) as r")
    sql = " union all ".join(parts)
    where = " where _department = ?" if department is not None else ""
    frame = warehouse.frame(f"select * from ({sql}) as quarantined{where} "
                            "order by _quarantined_at desc, _table, _expectation, _key",
                            [department] if department is not None else [])
    return frame[result_columns]
