"""Bounds that come from the data at gate time: the published (last good) version's row count and value
distribution, and the run's logical time for freshness (see ``suites.py`` for the YAML)."""

from __future__ import annotations

import datetime as dt
import math
from typing import Any

from citydata.quality.suites import ExpectationSpec
from citydata.quality.warehouses import Warehouse, columns, physical, quote

PUBLISHED_SCHEMA = "published"
SMOOTHING = 0.5  # added to every value's published count (additive smoothing of the reference)


def published_table(table: str) -> str:
    return f"{PUBLISHED_SCHEMA}.{table.partition('.')[2]}"


def run_time(run_at: str | None) -> dt.datetime:
    """The run's logical time; the wall clock only for an ad-hoc gate run without one."""
    if run_at is None:
        return dt.datetime.now(dt.UTC)
    moment = dt.datetime.fromisoformat(run_at)
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


def dynamic_kwargs(warehouse: Warehouse, table: str, spec: ExpectationSpec, derived: dict[str, str],
                   run_at: str | None, schema_map: dict[str, str] | None = None) -> tuple[dict[str, Any] | None, str]:
    """``(kwargs, detail)``: the expectation's keyword arguments with gate-time bounds filled in, or
    ``(None, why)`` when there is nothing to compare with yet (the check then passes, saying why)."""
    kwargs = dict(spec.kwargs)
    if spec.max_age_hours:
        oldest = run_time(run_at) - dt.timedelta(hours=spec.max_age_hours)
        kwargs["min_value"] = oldest
        return kwargs, f"newest value at least {oldest.isoformat(timespec='seconds')}"
    if not spec.baseline:
        return kwargs, ""
    reference = published_table(table)
    if not columns(warehouse, reference):
        return None, f"no published version of {table} yet: nothing to compare with"
    if spec.baseline.row_count_change:
        count = warehouse.rows(f"select count(*) from {physical(reference)}")[0][0]
        change = spec.baseline.row_count_change
        kwargs["min_value"], kwargs["max_value"] = math.floor(count * (1 - change)), math.ceil(count * (1 + change))
        return kwargs, f"published version has {count} rows; allowed change ±{change:.0%}"
    column = spec.column or ""
    expression = derived.get(column, quote(column))
    published = dict(warehouse.rows(f"select {expression} as value, count(*) from {physical(reference)} "
                                    f"where {expression} is not null group by 1"))
    total = sum(published.values())
    if not total:
        return None, f"published {reference}.{column} has no values: nothing to compare with"
    # Values the published version never had (a new year of births) get a half count, so one new value
    # moves the divergence a little instead of making it infinite (GE allows no holdout for discrete data).
    current = [v for (v,) in warehouse.rows(f"select distinct {expression} from {physical(table, schema_map)} "
                                            f"where {expression} is not null")]
    values = sorted(set(published) | set(current), key=str)
    smoothed = {v: published.get(v, 0) + SMOOTHING for v in values}
    norm = sum(smoothed.values())
    kwargs["partition_object"] = {"values": [_plain(v) for v in values], "weights": [smoothed[v] / norm for v in values]}
    return kwargs, f"reference: distribution of {column} in {reference} ({len(published)} values)"


def _plain(value: Any) -> Any:
    """Python scalars GE can compare with the frame's values (Decimal → float, dates → ISO text)."""
    if isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, dt.date):
        return value.isoformat()
    return float(value)
