"""The Great Expectations gate: validate warehouse tables, return a verdict per table and expectation.

One ephemeral GE context per gate run. Each table is read once per batch, with only the columns its
expectations name (plus derived columns computed in SQL): through Arrow into GE's pandas datasource on
DuckDB, as a query asset of GE's SQL datasource on PostgreSQL (see ``warehouses.py``).

A check's ``row_condition`` goes into the batch's query (``conditions.py``), so GE never filters a frame
once per metric; GE's fingerprint of every pandas batch (a hash of all its rows, there only to name the
batch) is switched off: together they were two thirds of the validation time at 1M persons.

Incremental runs (``since``: table → the load time validated up to) check strict row-level expectations
only on the rows loaded after it — the changed partition — while whole-table checks (uniqueness, row
count, drift, freshness, and ``mostly`` shares) still see the whole table, reading only their columns.
A raw current-state view whose change log took no event since the last passed run (``previous``: the
same event count and newest load time) is not read at all: its checks' results are carried from that
run, except those whose bounds move with the run (freshness, judged on the newest load time recorded).
"""

from __future__ import annotations

import logging
import os
import re
import time
from typing import Any

from citydata.errors import CityDataError
from citydata.quality.baselines import dynamic_kwargs
from citydata.quality.checks import (
    LOAD_TIME_COLUMNS,
    ROW_LEVEL,
    Check,
    condition_columns,
    pushed,
    scope_condition,
    scope_of,
    select_sql,
)
from citydata.quality.profile import Profile
from citydata.quality.profile import plan as profile_plan
from citydata.quality.results import ExpectationResult, GateResult, PreviousRun, TableResult
from citydata.quality.suites import ExpectationSpec, Suite, TableSuite
from citydata.quality.unchanged import carry, change_log, check_key, log_signature, recorded_newest
from citydata.quality.warehouses import Warehouse, as_warehouse, columns, mapped, physical, quote, tables_in

# what other modules import from here
__all__ = ["LOAD_TIME_COLUMNS", "ROW_LEVEL", "ExpectationResult", "GateResult", "PreviousRun", "TableResult",
           "plan", "quiet_great_expectations", "run_gate"]

os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")

def quiet_great_expectations() -> None:
    """GE logs at INFO on its own loggers (e.g. each ephemeral docs site); keep errors only."""
    for name in list(logging.root.manager.loggerDict):
        if name.startswith("great_expectations"):
            logging.getLogger(name).setLevel(logging.ERROR)


def skip_batch_fingerprints() -> None:
    """GE fingerprints each pandas batch under 1 GB by hashing every row (``pd.util.hash_pandas_object``),
    only to put the hash in the batch's markers; above 1 GB it skips it. Our batches are named by table,
    scope and condition, so skip it always: it cost as much as the checks themselves."""
    from great_expectations.execution_engine import pandas_execution_engine

    pandas_execution_engine.HASH_THRESHOLD = 0


def expand(warehouse: Warehouse, pattern: str) -> list[str]:
    schema, _, table = pattern.partition(".")
    if table != "*":
        return [pattern]
    return [f"{schema}.{name}" for name in tables_in(warehouse, schema)
            if schema != "raw" or name.endswith("__current")]


def _expectation_classes() -> dict[str, type]:
    import great_expectations as gx

    return {name.lower(): getattr(gx.expectations, name) for name in dir(gx.expectations)
            if name.startswith("Expect")}


def _gx_expectation(spec: ExpectationSpec, kwargs: dict[str, Any], classes: dict[str, type], index: int) -> Any:
    """The GE expectation, tagged with ``index`` in its meta: GE does not return results in suite order."""
    cls = classes.get(spec.expectation.replace("_", ""))
    if cls is None:
        raise CityDataError(f"unknown expectation {spec.expectation!r}: see Great Expectations' gallery")
    return cls(**kwargs, meta={"citydata_check": index})


_VIEW_COPY = "citydata_gate_view_rows"  # a temporary table: one raw view's rows, for one table's checks


def _copy_view(warehouse: Warehouse, pending: list[Check], load_time: str | None, relation: str,
               derived: dict[str, str], profiled: set[str]) -> str | None:
    """On DuckDB, the columns the checks read of a raw current-state view, computed once into a temporary
    table (the view recomputes its dedup over the change log on every read: each batch, the scoped
    uniqueness, the count and profile). PostgreSQL's batches run on GE's own connection, which cannot see it."""
    if warehouse.engine != "duckdb" or not pending:
        return None
    names = ({load_time} if load_time else set()) | profiled
    for check in pending:
        names |= ({check.spec.column} if check.spec.column else set()) | condition_columns(check.spec.kwargs)
    if names & set(derived):  # computed from columns the checks do not name
        return None
    warehouse.execute(f"create or replace temporary table {_VIEW_COPY} as select "
                      f"{', '.join(quote(n) for n in sorted(names))} from {relation}")
    return _VIEW_COPY


def _run_batches(warehouse: Warehouse, context: Any, classes: dict[str, type], table: str, entry: TableSuite,
                 pending: list[Check], where: str | None, relation: str, source: str | None,
                 available: list[str], schema_map: dict[str, str] | None, validations: list[Any]) -> dict[int, Any]:
    """One GE batch per (scope, condition) of the pending checks; id(check) → GE's result."""
    import great_expectations as gx

    outcome: dict[int, Any] = {}
    for n, (scope, condition) in enumerate(dict.fromkeys((c.scope, c.condition) for c in pending)):
        batch_checks = [c for c in pending if (c.scope, c.condition) == (scope, condition)]
        names = set().union(*(({c.spec.column} if c.spec.column else set())
                              | (set() if condition else condition_columns(c.spec.kwargs)) for c in batch_checks))
        rows = " and ".join(f"({part})" for part in (scope_condition(scope, where, relation), condition) if part)
        sql = select_sql(table, names, entry.derived, available, rows or None, schema_map, source)
        batch = warehouse.add_batch(context, re.sub(r"[^A-Za-z0-9_]", "__", f"{table}__{n}"), sql)
        label = ", ".join(([] if scope == "whole" else [f"{scope.replace(':', ' of ')} rows"])
                          + ([f"where {condition}"] if condition else []))
        suite = gx.ExpectationSuite(f"{table} ({label})" if label else table)
        for index, check in enumerate(batch_checks):
            suite.add_expectation(_gx_expectation(check.spec, check.kwargs, classes, index))
        validation = batch.validate(suite)
        validations.append(validation)
        for res in validation.results:
            outcome[id(batch_checks[res.expectation_config.meta["citydata_check"]])] = res
    return outcome


def _validate_table(warehouse: Warehouse, context: Any, classes: dict[str, type], table: str, entry: TableSuite,
                    schema_map: dict[str, str] | None, run_at: str | None, since: str | None,
                    validations: list[Any], previous: PreviousRun | None = None) -> TableResult:
    present = columns(warehouse, mapped(table, schema_map))
    if not present:
        return TableResult(table, 0, [ExpectationResult("table_exists", None, False, 0, "block",
                                                        detail=f"{table} does not exist")])
    available = present + list(entry.derived)
    load_time = next((c for c in LOAD_TIME_COLUMNS if c in present), None)
    checks, missing = [], []
    for spec in entry.expectations:
        needed = ({spec.column} if spec.column else set()) | condition_columns(spec.kwargs)
        if needed - set(available):
            missing.append(spec)
            continue
        kwargs, detail = dynamic_kwargs(warehouse, table, spec, entry.derived, run_at, schema_map)
        kwargs, condition = pushed(kwargs)
        checks.append(Check(spec, kwargs, detail, scope_of(spec, bool(since and load_time)), condition))
    where = f"{quote(load_time)} > cast('{since}' as timestamp with time zone)" if since and load_time else None
    relation = physical(table, schema_map)
    log = change_log(warehouse, table)
    signature = log_signature(warehouse, log) if log else None
    unchanged = bool(since and previous and signature is not None and signature == previous.signature)
    carried = carry(checks, previous) if unchanged and previous else {}
    pending = [c for c in checks if c.kwargs is not None and id(c) not in carried]
    source = recorded_newest(pending, load_time, previous) if unchanged and previous else None
    wanted = profile_plan(present, entry.expectations)
    copy = None if source or unchanged or log is None else _copy_view(warehouse, pending, load_time, relation,
                                                                      entry.derived, wanted.columns)
    profile = None
    try:
        outcome = _run_batches(warehouse, context, classes, table, entry, pending, where, copy or relation,
                               source or copy, available, schema_map, validations)
        if unchanged and previous:  # nothing landed: the rows and newest load time the last run counted
            total, newest, validated = previous.rows, previous.watermark, 0
        else:  # one pass over the table for its counts and the scorecard's (profile.py)
            total, newest, validated, *profiled = warehouse.rows(
                f"select count(*), {f'max({quote(load_time)})' if load_time else 'null'}, "
                f"{f'count(*) filter (where {where})' if where else 'count(*)'}, "
                f"{', '.join(wanted.select_list(copy or relation))} from {copy or relation}")[0]
            profile = Profile.of(wanted, profiled)
    finally:
        if copy:
            warehouse.execute(f"drop table if exists {copy}")
    result = TableResult(table, int(total), rows_validated=int(validated),
                         watermark=str(newest) if newest is not None else None, signature=signature,
                         carried_from=previous.run_at if carried and previous else None, profile=profile)
    for check in checks:
        res = outcome.get(id(check))
        spec = check.spec
        if id(check) in carried:
            result.expectations.append(carried[id(check)])
            continue
        if res is None:  # nothing to compare with yet
            result.expectations.append(ExpectationResult(spec.expectation, spec.column, True, 0, spec.severity,
                                                         spec.department, detail=check.detail,
                                                         check=check_key(spec)))
            continue
        raised = (res.exception_info or {}).get("exception_message") if (res.exception_info or {}).get(
            "raised_exception") else None
        result.expectations.append(ExpectationResult(
            spec.expectation, spec.column, bool(res.success), int(res.result.get("unexpected_count") or 0),
            spec.severity, spec.department, detail=f"error: {raised}" if raised else check.detail,
            observed=res.result.get("observed_value"), check=check_key(spec)))
    for spec in missing:
        result.expectations.append(ExpectationResult(spec.expectation, spec.column, False, 0, spec.severity,
                                                     spec.department, detail=f"column {spec.column!r} is missing",
                                                     check=check_key(spec)))
    return result


def run_gate(target: Any, suites: list[Suite], layers: tuple[str, ...] = ("raw", "marts"),
             schema_map: dict[str, str] | None = None, *, run_at: str | None = None,
             since: dict[str, str] | None = None, previous: dict[str, PreviousRun] | None = None) -> GateResult:
    """Validate every table of the chosen layers on ``target`` (a DuckDB connection or a warehouse from
    ``warehouses.py``). ``schema_map`` redirects e.g. a mart schema to the copy being audited;
    ``run_at`` (ISO, the run's logical time) anchors freshness; ``since`` makes the run incremental, and
    with it ``previous`` (table → the last passed run's results) lets unchanged raw views keep theirs."""
    import great_expectations as gx

    warehouse = as_warehouse(target)
    started = time.perf_counter()
    quiet_great_expectations()
    skip_batch_fingerprints()
    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = {"globally": False}
    classes = _expectation_classes()
    validations: list[Any] = []
    results = [_validate_table(warehouse, context, classes, table, entry, schema_map, run_at,
                               (since or {}).get(table), validations, (previous or {}).get(table))
               for table, entry in plan(warehouse, suites, layers).items()]
    return GateResult(results, time.perf_counter() - started, validations)


def plan(warehouse: Warehouse, suites: list[Suite], layers: tuple[str, ...]) -> dict[str, TableSuite]:
    """Each table of the chosen layers with all its expectations (a ``raw.*`` entry and a table's own
    entry merge, in suite order)."""
    out: dict[str, TableSuite] = {}
    for suite in suites:
        if suite.layer not in layers:
            continue
        for pattern, entry in suite.tables.items():
            for table in expand(warehouse, pattern):
                have = out.get(table)
                out[table] = entry if have is None else TableSuite(
                    derived={**have.derived, **entry.derived}, expectations=have.expectations + entry.expectations)
    return out
