"""The warehouse side of validating one table: everything the gate reads before Great Expectations
judges — columns, gate-time bounds, whether a raw view changed, its batches' rows, counts and profile.

It needs no GE, so the gate runs it on a worker thread (its own DuckDB cursor) one table ahead of GE's
validation, and while GE is imported: DuckDB and Arrow release the GIL, GE's pandas checks do not.

On DuckDB a batch's rows are read here into a pandas frame (GE cannot reach DuckDB through SQLAlchemy);
on PostgreSQL a batch stays a query that GE's SQL datasource pushes down (``warehouses.py``).
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from citydata.quality.baselines import dynamic_kwargs
from citydata.quality.checks import (
    LOAD_TIME_COLUMNS,
    Check,
    condition_columns,
    pushed,
    scope_condition,
    scope_of,
    select_sql,
)
from citydata.quality.profile import Profile
from citydata.quality.profile import plan as profile_plan
from citydata.quality.results import ExpectationResult, PreviousRun
from citydata.quality.suites import ExpectationSpec, TableSuite
from citydata.quality.unchanged import carry, change_log, log_signature, recorded_newest
from citydata.quality.warehouses import Warehouse, columns, mapped, physical, quote


@dataclass
class Batch:
    """The rows one GE batch validates, for the checks sharing a scope and condition."""

    label: str  # which rows, for the suite's name ("" for the whole table)
    checks: list[Check]
    data: Any  # what ``Warehouse.batch`` takes: a frame (DuckDB) or a query (PostgreSQL)


@dataclass
class TableReads:
    """One table, read: what GE is to judge and what the gate reports beside GE's verdicts."""

    table: str
    exists: bool = True
    checks: list[Check] = field(default_factory=list)
    missing: list[ExpectationSpec] = field(default_factory=list)  # specs naming a column the table lacks
    carried: dict[int, ExpectationResult] = field(default_factory=dict)  # id(check) → the last run's result
    carried_from: str | None = None
    batches: list[Batch] = field(default_factory=list)
    rows: int = 0
    validated: int = 0  # rows the row-level checks saw
    newest: Any = None  # the newest load time
    signature: str | None = None
    profile: Profile | None = None

    @property
    def held_rows(self) -> int:
        """Rows this holds in memory (DuckDB's frames; a PostgreSQL batch is a query)."""
        return sum(len(b.data) for b in self.batches if not isinstance(b.data, str))


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


def _batches(warehouse: Warehouse, table: str, entry: TableSuite, pending: list[Check], where: str | None,
             relation: str, source: str | None, available: list[str],
             schema_map: dict[str, str] | None) -> list[Batch]:
    """One batch per (scope, condition) of the pending checks, its rows read."""
    out = []
    for scope, condition in dict.fromkeys((c.scope, c.condition) for c in pending):
        batch_checks = [c for c in pending if (c.scope, c.condition) == (scope, condition)]
        names = set().union(*(({c.spec.column} if c.spec.column else set())
                              | (set() if condition else condition_columns(c.spec.kwargs)) for c in batch_checks))
        rows = " and ".join(f"({part})" for part in (scope_condition(scope, where, relation), condition) if part)
        sql = select_sql(table, names, entry.derived, available, rows or None, schema_map, source)
        label = ", ".join(([] if scope == "whole" else [f"{scope.replace(':', ' of ')} rows"])
                          + ([f"where {condition}"] if condition else []))
        out.append(Batch(label, batch_checks, warehouse.read_batch(sql)))
    return out


def _null_key_changed(warehouse: Warehouse, relation: str, changed: str, key: list[str]) -> bool:
    """Whether a changed row has a null in a key of several columns (then its distinct keys are counted
    in full: ``in`` does not match a row with a null to itself)."""
    if len(key) == 1:
        return False
    nulls = " or ".join(f"{quote(c)} is null" for c in key)
    return bool(warehouse.rows(f"select count(*) from {relation} where ({changed}) and ({nulls})")[0][0])


def read_table(warehouse: Warehouse, table: str, entry: TableSuite, schema_map: dict[str, str] | None,
               run_at: str | None, since: str | None, previous: PreviousRun | None = None) -> TableReads:
    """Everything the gate reads of ``table`` (see ``gate.run_gate`` for ``since`` and ``previous``)."""
    present = columns(warehouse, mapped(table, schema_map))
    if not present:
        return TableReads(table, exists=False)
    available = present + list(entry.derived)
    load_time = next((c for c in LOAD_TIME_COLUMNS if c in present), None)
    reads = TableReads(table)
    for spec in entry.expectations:
        needed = ({spec.column} if spec.column else set()) | condition_columns(spec.kwargs)
        if needed - set(available):
            reads.missing.append(spec)
            continue
        kwargs, detail = dynamic_kwargs(warehouse, table, spec, entry.derived, run_at, schema_map)
        kwargs, condition = pushed(kwargs)
        reads.checks.append(Check(spec, kwargs, detail, scope_of(spec, bool(since and load_time)), condition))
    where = f"{quote(load_time)} > cast('{since}' as timestamp with time zone)" if since and load_time else None
    relation = physical(table, schema_map)
    log = change_log(warehouse, table)
    reads.signature = log_signature(warehouse, log) if log else None
    unchanged = bool(since and previous and reads.signature is not None and reads.signature == previous.signature)
    if unchanged and previous:
        reads.carried = carry(reads.checks, previous)
        reads.carried_from = previous.run_at if reads.carried else None
    pending = [c for c in reads.checks if c.kwargs is not None and id(c) not in reads.carried]
    source = recorded_newest(pending, load_time, previous) if unchanged and previous else None
    wanted = profile_plan(present, entry.expectations)
    copy = None if source or unchanged or log is None else _copy_view(warehouse, pending, load_time, relation,
                                                                      entry.derived, wanted.columns)
    try:
        reads.batches = _batches(warehouse, table, entry, pending, where, copy or relation, source or copy,
                                 available, schema_map)
        if unchanged and previous:  # nothing landed: the rows and newest load time the last run counted
            reads.rows, reads.newest = previous.rows, previous.watermark
        else:  # one pass over the table for its counts and the scorecard's (profile.py)
            read = copy or relation
            distinct_before = where if where and previous and previous.keys_all_distinct(wanted.key_label) \
                and not _null_key_changed(warehouse, read, where, wanted.key) else None
            total, reads.newest, validated, *profiled = warehouse.rows(
                f"select count(*), {f'max({quote(load_time)})' if load_time else 'null'}, "
                f"{f'count(*) filter (where {where})' if where else 'count(*)'}, "
                f"{', '.join(wanted.select_list(read, distinct_before))} from {read}")[0]
            reads.rows, reads.validated, reads.profile = int(total), int(validated), Profile.of(wanted, profiled)
    finally:
        if copy:
            warehouse.execute(f"drop table if exists {copy}")
    return reads


class ReadAhead:
    """``read_table`` for each job, in order, on a worker thread with its own cursor (``Warehouse.worker``),
    ahead of whoever iterates: it reads on while the rows read and not yet consumed stay under
    ``budget_rows`` (one table always). Iterating yields each table's reads, or raises what reading it
    raised; leaving the ``with`` stops the worker and waits for it.

    ``jobs``: ``(table, entry, since, previous)``; ``schema_map`` and ``run_at`` as for ``read_table``."""

    def __init__(self, warehouse: Warehouse, jobs: list[tuple[str, TableSuite, str | None, PreviousRun | None]],
                 schema_map: dict[str, str] | None, run_at: str | None, budget_rows: int):
        self._warehouse, self._jobs = warehouse, jobs
        self._schema_map, self._run_at, self._budget = schema_map, run_at, budget_rows
        self._done: queue.Queue[TableReads | BaseException] = queue.Queue()
        self._held = 0
        self._room = threading.Condition()
        self._stopped = False
        self._thread = threading.Thread(target=self._read_all, name="citydata-gate-reads", daemon=True)

    def __enter__(self) -> ReadAhead:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        with self._room:
            self._stopped = True
            self._room.notify_all()
        self._thread.join()

    def __iter__(self) -> Iterator[TableReads]:
        for _ in self._jobs:
            reads = self._done.get()
            if isinstance(reads, BaseException):
                raise reads
            yield reads
            with self._room:
                self._held -= reads.held_rows
                self._room.notify_all()

    def _read_all(self) -> None:
        reader = self._warehouse.worker()
        try:
            for table, entry, since, previous in self._jobs:
                with self._room:
                    self._room.wait_for(lambda: self._stopped or self._held < self._budget)
                    if self._stopped:
                        return
                reads = read_table(reader, table, entry, self._schema_map, self._run_at, since, previous)
                with self._room:
                    self._held += reads.held_rows
                self._done.put(reads)
        except BaseException as error:  # handed to the consumer, raised there
            self._done.put(error)
        finally:
            reader.close()
