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

import hashlib
import json
import logging
import os
import re
import time
from dataclasses import dataclass, field, replace
from typing import Any

from citydata.errors import CityDataError
from citydata.quality.baselines import dynamic_kwargs
from citydata.quality.conditions import literal, row_condition_sql
from citydata.quality.profile import Profile
from citydata.quality.profile import plan as profile_plan
from citydata.quality.suites import ExpectationSpec, Suite, TableSuite
from citydata.quality.warehouses import Warehouse, as_warehouse, columns, mapped, physical, quote, tables_in

os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")

LOAD_TIME_COLUMNS = ("loaded_at", "_loaded_at")
# expectations judged row by row: valid on a partition of the table
ROW_LEVEL = re.compile(r"^expect_column_values?_(?!to_be_unique)|^expect_column_value_lengths_")
_CONDITION_COLUMNS = re.compile(r"""col\(\s*["']([^"']+)["']\s*\)|^\s*\(?\s*([A-Za-z_][A-Za-z0-9_]*)\s*[=!<>]""")


@dataclass
class ExpectationResult:
    expectation: str
    column: str | None
    success: bool
    unexpected_count: int
    severity: str
    department: str | None = None
    detail: str = ""
    observed: Any = None
    check: str = ""  # the spec's fingerprint (check_key): what a later run matches a carried result by


@dataclass
class TableResult:
    table: str
    rows: int
    expectations: list[ExpectationResult] = field(default_factory=list)
    rows_validated: int | None = None  # rows the row-level checks saw (the changed partition when incremental)
    watermark: str | None = None  # the newest load time in the table
    signature: str | None = None  # a raw view's change log: "<events>|<newest load time>"
    carried_from: str | None = None  # the run whose results an unchanged raw view kept
    profile: Profile | None = field(default=None, repr=False)  # the scorecard's counts, from the same pass

    @property
    def passed(self) -> bool:
        return all(e.success or e.severity == "warn" for e in self.expectations)


@dataclass(frozen=True)
class PreviousRun:
    """What the last passed run found for one table (``runs.previous_results``)."""

    run_at: str
    rows: int
    watermark: str | None
    signature: str | None
    results: dict[str, ExpectationResult]  # check_key → result


@dataclass
class GateResult:
    tables: list[TableResult]
    seconds: float
    validations: list[Any] = field(default_factory=list, repr=False)  # GE results, for Data Docs

    @property
    def passed(self) -> bool:
        return all(t.passed for t in self.tables)

    def failures(self) -> list[tuple[str, ExpectationResult]]:
        return [(t.table, e) for t in self.tables for e in t.expectations
                if not e.success and e.severity == "block"]

    def to_dict(self) -> dict:
        return {
            "passed": self.passed,
            "seconds": round(self.seconds, 3),
            "tables": {t.table: {"passed": t.passed, "rows": t.rows, "rows_validated": t.rows_validated,
                                 "watermark": t.watermark,
                                 "expectations": [{**e.__dict__, "observed": _jsonable(e.observed)}
                                                  for e in t.expectations]}
                       for t in self.tables},
        }


def _jsonable(value: Any) -> Any:
    if value is None or isinstance(value, bool | int | float | str):
        return value
    return str(value)


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


def partitionable(spec: ExpectationSpec) -> bool:
    """Whether checking only the changed rows gives the whole table's verdict: a strict row-level check
    (every row must pass). A ``mostly`` check is a share of the whole table, so it reads the whole table."""
    return bool(ROW_LEVEL.match(spec.expectation)) and spec.kwargs.get("mostly") in (None, 1, 1.0)


def condition_columns(kwargs: dict[str, Any]) -> set[str]:
    condition = str(kwargs.get("row_condition") or "")
    return {a or b for part in re.split(r"\s+and\s+|\s*&\s*", condition)
            for a, b in _CONDITION_COLUMNS.findall(part)}


@dataclass
class _Check:
    spec: ExpectationSpec
    kwargs: dict[str, Any] | None  # None: nothing to compare with yet
    detail: str
    scope: str = "whole"  # "whole", "changed" (the changed rows) or "keys:<column>" (rows sharing their keys)
    condition: str | None = None  # the spec's row_condition as SQL, pushed into the batch's query


def _pushed(kwargs: dict[str, Any] | None) -> tuple[dict[str, Any] | None, str | None]:
    """(the kwargs GE gets, the SQL condition the batch query applies): a translatable ``row_condition``
    leaves GE's kwargs for the query's WHERE clause."""
    if kwargs is None or not kwargs.get("row_condition"):
        return kwargs, None
    condition = row_condition_sql(kwargs)
    if condition is None:
        return kwargs, None
    return {k: v for k, v in kwargs.items() if k not in ("row_condition", "condition_parser")}, condition


def _scope(spec: ExpectationSpec, incremental: bool) -> str:
    """Which rows an incremental run must show the check. A uniqueness check sees the rows whose key
    occurs among the changed rows: the previous version passed, so any duplicate now involves one."""
    if not incremental:
        return "whole"
    if partitionable(spec):
        return "changed"
    if spec.expectation == "expect_column_values_to_be_unique" and not spec.kwargs.get("row_condition"):
        return f"keys:{spec.column}"
    return "whole"


def _scope_condition(scope: str, changed: str | None, relation: str) -> str | None:
    if scope == "whole" or changed is None:
        return None
    if scope == "changed":
        return changed
    column = quote(scope.partition(":")[2])
    return f"{column} in (select {column} from {relation} where {changed})"


def _select(table: str, names: set[str], derived: dict[str, str], available: list[str],
            where: str | None, schema_map: dict[str, str] | None, source: str | None = None) -> str:
    parts = [f"{derived[n]} as {quote(n)}" if n in derived else quote(n) for n in sorted(names)]
    parts = parts or [quote(available[0])]
    return (f"select {', '.join(parts)} from {source or physical(table, schema_map)}"
            + (f" where {where}" if where else ""))


def check_key(spec: ExpectationSpec) -> str:
    """A spec's fingerprint: the same expectation, arguments, severity, department and bounds."""
    return hashlib.sha256(json.dumps(spec.model_dump(mode="json"), sort_keys=True).encode()).hexdigest()[:16]


def change_log(warehouse: Warehouse, table: str) -> str | None:
    """The append-only change log behind a raw current-state view (``raw.<t>__current`` → ``raw.<t>``)."""
    schema, _, name = table.partition(".")
    if schema != "raw" or not name.endswith("__current"):
        return None
    log = f"raw.{name.removesuffix('__current')}"
    return log if "_loaded_at" in columns(warehouse, log) else None


def _signature(warehouse: Warehouse, log: str) -> str:
    """Events and newest load time of a change log: any landing (a delete too) changes it."""
    events, newest = warehouse.rows(f"select count(*), max(_loaded_at) from {physical(log)}")[0]
    return f"{events}|{newest}"


def _carry(checks: list[_Check], previous: PreviousRun) -> dict[int, ExpectationResult]:
    """id(check) → the previous run's result, for the checks of an unchanged table whose bounds do not move
    with the run (not freshness, not a comparison with the published version)."""
    out: dict[int, ExpectationResult] = {}
    for check in checks:
        earlier = previous.results.get(check_key(check.spec))
        if earlier is None or check.spec.baseline or check.spec.max_age_hours:
            continue
        note = f"carried from {previous.run_at}: nothing landed since"
        own = earlier.detail.partition("; ")[2] if earlier.detail.startswith("carried from ") else earlier.detail
        out[id(check)] = replace(earlier, detail=f"{note}; {own}" if own else note)
    return out


def _recorded_newest(checks: list[_Check], load_time: str | None, previous: PreviousRun) -> str | None:
    """For an unchanged table whose remaining checks are all on its newest load time (freshness), a one-row
    relation holding the newest load time the last run recorded: the same maximum, without reading."""
    if not checks or load_time is None or previous.watermark is None or any(
            c.spec.expectation != "expect_column_max_to_be_between" or c.spec.column != load_time
            or c.condition or c.spec.kwargs.get("row_condition") for c in checks):
        return None
    return f"(select cast({literal(previous.watermark)} as timestamp with time zone) as {quote(load_time)}) as newest"


_VIEW_COPY = "citydata_gate_view_rows"  # a temporary table: one raw view's rows, for one table's checks


def _copy_view(warehouse: Warehouse, pending: list[_Check], load_time: str | None, relation: str,
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
                 pending: list[_Check], where: str | None, relation: str, source: str | None,
                 available: list[str], schema_map: dict[str, str] | None, validations: list[Any]) -> dict[int, Any]:
    """One GE batch per (scope, condition) of the pending checks; id(check) → GE's result."""
    import great_expectations as gx

    outcome: dict[int, Any] = {}
    for n, (scope, condition) in enumerate(dict.fromkeys((c.scope, c.condition) for c in pending)):
        batch_checks = [c for c in pending if (c.scope, c.condition) == (scope, condition)]
        names = set().union(*(({c.spec.column} if c.spec.column else set())
                              | (set() if condition else condition_columns(c.spec.kwargs)) for c in batch_checks))
        rows = " and ".join(f"({part})" for part in (_scope_condition(scope, where, relation), condition) if part)
        sql = _select(table, names, entry.derived, available, rows or None, schema_map, source)
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
        kwargs, condition = _pushed(kwargs)
        checks.append(_Check(spec, kwargs, detail, _scope(spec, bool(since and load_time)), condition))
    where = f"{quote(load_time)} > cast('{since}' as timestamp with time zone)" if since and load_time else None
    relation = physical(table, schema_map)
    log = change_log(warehouse, table)
    signature = _signature(warehouse, log) if log else None
    unchanged = bool(since and previous and signature is not None and signature == previous.signature)
    carried = _carry(checks, previous) if unchanged and previous else {}
    pending = [c for c in checks if c.kwargs is not None and id(c) not in carried]
    source = _recorded_newest(pending, load_time, previous) if unchanged and previous else None
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
