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
from collections.abc import Callable
from typing import Any

from citydata.errors import CityDataError
from citydata.quality.checks import LOAD_TIME_COLUMNS, ROW_LEVEL
from citydata.quality.reads import ReadAhead, TableReads
from citydata.quality.results import ExpectationResult, GateResult, PreviousRun, TableResult
from citydata.quality.suites import ExpectationSpec, Suite, TableSuite
from citydata.quality.unchanged import check_key
from citydata.quality.warehouses import Warehouse, as_warehouse, tables_in

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


def _judge(reads: TableReads, warehouse: Warehouse, context: Any, classes: dict[str, type],
           validations: list[Any]) -> TableResult:
    """GE's verdict on one table's batches, with the results carried or not computable beside it."""
    import great_expectations as gx

    table = reads.table
    if not reads.exists:
        return TableResult(table, 0, [ExpectationResult("table_exists", None, False, 0, "block",
                                                        detail=f"{table} does not exist")])
    outcome: dict[int, Any] = {}  # id(check) → GE's result
    for n, batch in enumerate(reads.batches):
        data = warehouse.batch(context, re.sub(r"[^A-Za-z0-9_]", "__", f"{table}__{n}"), batch.data)
        suite = gx.ExpectationSuite(f"{table} ({batch.label})" if batch.label else table)
        for index, check in enumerate(batch.checks):
            suite.add_expectation(_gx_expectation(check.spec, check.kwargs, classes, index))
        validation = data.validate(suite)
        validations.append(validation)
        for res in validation.results:
            outcome[id(batch.checks[res.expectation_config.meta["citydata_check"]])] = res
    result = TableResult(table, reads.rows, rows_validated=reads.validated,
                         watermark=str(reads.newest) if reads.newest is not None else None,
                         signature=reads.signature, carried_from=reads.carried_from, profile=reads.profile)
    for check in reads.checks:
        res = outcome.get(id(check))
        spec = check.spec
        if id(check) in reads.carried:
            result.expectations.append(reads.carried[id(check)])
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
    for spec in reads.missing:
        result.expectations.append(ExpectationResult(spec.expectation, spec.column, False, 0, spec.severity,
                                                     spec.department, detail=f"column {spec.column!r} is missing",
                                                     check=check_key(spec)))
    return result


# rows read ahead of GE's validation (each table's batches are frames in memory); one table always
READ_AHEAD_ROWS = 4_000_000


def run_gate(target: Any, suites: list[Suite], layers: tuple[str, ...] = ("raw", "marts"),
             schema_map: dict[str, str] | None = None, *, run_at: str | None = None,
             since: dict[str, str] | None = None, previous: dict[str, PreviousRun] | None = None,
             judged: Callable[[TableResult], None] | None = None) -> GateResult:
    """Validate every table of the chosen layers on ``target`` (a DuckDB connection or a warehouse from
    ``warehouses.py``). ``schema_map`` redirects e.g. a mart schema to the copy being audited;
    ``run_at`` (ISO, the run's logical time) anchors freshness; ``since`` makes the run incremental, and
    with it ``previous`` (table → the last passed run's results) lets unchanged raw views keep theirs.
    ``judged`` is called with each table's result as soon as it is known.

    A worker thread reads the tables (``reads.py``) ahead of GE, which meanwhile is imported (~2.5 s in a
    new process) and then judges them in order on this thread: DuckDB's reads and GE's pandas checks
    overlap on two cores."""
    warehouse = as_warehouse(target)
    started = time.perf_counter()
    jobs = [(table, entry, (since or {}).get(table), (previous or {}).get(table))
            for table, entry in plan(warehouse, suites, layers).items()]
    with ReadAhead(warehouse, jobs, schema_map, run_at, READ_AHEAD_ROWS) as tables:
        import great_expectations as gx

        quiet_great_expectations()
        skip_batch_fingerprints()
        context = gx.get_context(mode="ephemeral")
        context.variables.progress_bars = {"globally": False}
        classes = _expectation_classes()
        validations: list[Any] = []
        results = []
        for reads in tables:
            results.append(_judge(reads, warehouse, context, classes, validations))
            if judged is not None:
                judged(results[-1])
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
