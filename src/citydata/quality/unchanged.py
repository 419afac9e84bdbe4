"""Raw current-state views nothing landed in since the last passed run: how the gate tells (the change
log's event count and newest load time — a delete adds an event too) and which results it carries
(those whose bounds do not move with the run)."""

from __future__ import annotations

import hashlib
import json
from dataclasses import replace

from citydata.quality.checks import Check
from citydata.quality.conditions import literal
from citydata.quality.results import ExpectationResult, PreviousRun
from citydata.quality.suites import ExpectationSpec
from citydata.quality.warehouses import Warehouse, columns, physical, quote


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


def log_signature(warehouse: Warehouse, log: str) -> str:
    """Events and newest load time of a change log: any landing (a delete too) changes it."""
    events, newest = warehouse.rows(f"select count(*), max(_loaded_at) from {physical(log)}")[0]
    return f"{events}|{newest}"


def carry(checks: list[Check], previous: PreviousRun) -> dict[int, ExpectationResult]:
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


def recorded_newest(checks: list[Check], load_time: str | None, previous: PreviousRun) -> str | None:
    """For an unchanged table whose remaining checks are all on its newest load time (freshness), a one-row
    relation holding the newest load time the last run recorded: the same maximum, without reading."""
    if not checks or load_time is None or previous.watermark is None or any(
            c.spec.expectation != "expect_column_max_to_be_between" or c.spec.column != load_time
            or c.condition or c.spec.kwargs.get("row_condition") for c in checks):
        return None
    return f"(select cast({literal(previous.watermark)} as timestamp with time zone) as {quote(load_time)}) as newest"
