"""Data-quality scorecards: one row per gate run and dataset, kept as history in ``quality.scorecards``.

Dimensions (shares are 0..1, null when they cannot be measured):

- completeness: non-null share of the dataset's declared columns (those its expectations name; all
  non-underscore columns when none do);
- validity: share of evaluated (row, row-level expectation) pairs that passed, from the gate's
  ``unexpected_count`` over ``rows`` × the number of row-level expectations (an expectation with a
  ``row_condition`` is counted over the whole table: an upper bound on its denominator);
- uniqueness: distinct keys over rows, the key being the column(s) of ``expect_column_values_to_be_unique``
  expectations, else the identifier-occurrence key, else the first column;
- timeliness_hours: hours from the newest ``_loaded_at`` / ``loaded_at`` / ``updated_at`` to ``run_at``;
- consistency: share of the source's records without an open ``governance.conflicts`` row (staging and
  raw datasets of one source table only).

The department of a dataset is that of its expectations when they name exactly one, else the source
named in the table (``stg_<source>__…``, ``raw.<source>__…``).
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import pandas as pd

from citydata.quality.gate import GateResult, TableResult
from citydata.quality.profile import Profile, plan
from citydata.quality.warehouses import Warehouse, as_warehouse, columns
from citydata.quality.warehouses import physical as _physical

SCORECARD_COLUMNS = ["run_at", "dataset", "department", "rows", "completeness", "validity", "uniqueness",
                     "timeliness_hours", "consistency"]
_DDL = ("create table if not exists quality.scorecards (run_at timestamp with time zone, dataset varchar, "
        "department varchar, rows bigint, completeness double precision, validity double precision, "
        "uniqueness double precision, timeliness_hours double precision, consistency double precision)")
_TABLE_LEVEL = re.compile(r"^expect_(table_|column_(mean|median|sum|min|max|stdev|unique_value_count|"
                          r"proportion|distinct|most_common|quantile|kl_)|multicolumn_sum|compound)")


def _source_table(dataset: str) -> str | None:
    schema, _, name = dataset.partition(".")
    if schema == "staging" and name.startswith("stg_"):
        return name[4:]
    if schema == "raw" and name.endswith("__current"):
        return name[: -len("__current")]
    return None


def _department(dataset: str, table: TableResult) -> str | None:
    named = {e.department for e in table.expectations if e.department}
    if len(named) == 1:
        return named.pop()
    source = _source_table(dataset)
    return source.split("__")[0] if source else None  # several departments' data: no single owner


def open_conflicts(warehouse: Warehouse) -> dict[str, int] | None:
    """Source table → its records with an open ``governance.conflicts`` row (None: no conflicts mart).
    One pass for all datasets; conflict_key is '<source_table>[.<column>]:<record id>'."""
    if not columns(warehouse, "governance.conflicts"):
        return None
    return dict(warehouse.rows(
        "select split_part(split_part(conflict_key, ':', 1), '.', 1), "
        "count(distinct substr(conflict_key, strpos(conflict_key, ':') + 1)) from governance.conflicts "
        "where is_open and strpos(conflict_key, ':') > 0 group by 1"))


def _consistency(conflicts: dict[str, int] | None, dataset: str, rows: int) -> float | None:
    source = _source_table(dataset)
    if source is None or not rows or conflicts is None:
        return None
    return max(0.0, 1.0 - conflicts.get(source, 0) / rows)


def _score(warehouse: Warehouse, table: TableResult, run_at: str, conflicts: dict[str, int] | None) -> dict:
    dataset = table.table
    row = dict.fromkeys(SCORECARD_COLUMNS)
    row.update(run_at=run_at, dataset=dataset, department=_department(dataset, table), rows=table.rows)
    present = columns(warehouse, dataset)
    if not present:
        return row
    wanted = plan(present, table.expectations)
    profile = table.profile or Profile.of(wanted, warehouse.rows(
        f"select {', '.join(wanted.select_list(_physical(dataset)))} from {_physical(dataset)}")[0])
    row_level = [e for e in table.expectations if e.column and not _TABLE_LEVEL.match(e.expectation)]
    rows = profile.rows
    row["rows"] = rows
    if rows:
        row["completeness"] = profile.non_null / (rows * profile.declared) if profile.declared else None
        row["uniqueness"] = profile.distinct_keys / rows
        if row_level:
            evaluated = rows * len(row_level)
            row["validity"] = max(0.0, 1.0 - sum(e.unexpected_count for e in row_level) / evaluated)
    if profile.newest is not None:
        row["timeliness_hours"] = (_aware(run_at) - _aware(profile.newest)).total_seconds() / 3600.0
    row["consistency"] = _consistency(conflicts, dataset, rows)
    return row


def _latest(where: str, last: str = "1") -> str:
    """SQL: each dataset's ``last`` newest scorecards among those matching ``where``."""
    names = ", ".join(SCORECARD_COLUMNS)
    return (f"select {names} from (select {names}, row_number() over (partition by dataset order by run_at desc) "
            f"as _n from quality.scorecards where {where}) as ranked where _n <= {last}")


def _previous(warehouse: Warehouse, run_at: str) -> dict[str, dict]:
    """Each dataset's latest scorecard before ``run_at``."""
    if not columns(warehouse, "quality.scorecards"):
        return {}
    got = warehouse.rows(_latest("run_at < cast(? as timestamp with time zone)"), [run_at])
    return {r[1]: dict(zip(SCORECARD_COLUMNS, r)) for r in got}


def _aware(value: Any) -> dt.datetime:
    moment = value if isinstance(value, dt.datetime) else dt.datetime.fromisoformat(str(value))
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


def _carried(table: TableResult, previous: dict | None, run_at: str, conflicts: dict[str, int] | None) -> dict | None:
    """An incremental run's scorecard of a dataset nothing landed in since the last run (no row newer than
    the gate's watermark, the same row count): the previous completeness, validity and uniqueness — the
    rows are the same, and the gate checked none of them this time —, timeliness aged by the time between
    the runs, consistency counted again (conflicts move on their own). None when the dataset changed."""
    if previous is None or not table.rows or table.rows_validated != 0 or previous["rows"] != table.rows:
        return None
    row = {**previous, "run_at": run_at, "department": _department(table.table, table)}
    if previous["timeliness_hours"] is not None:
        aged = (_aware(run_at) - _aware(previous["run_at"])).total_seconds() / 3600.0
        row["timeliness_hours"] = float(previous["timeliness_hours"]) + aged
    row["consistency"] = _consistency(conflicts, table.table, table.rows)
    return row


def compute_scorecards(target: Any, gate: GateResult, run_at: str) -> pd.DataFrame:
    """Score every dataset the gate validated and append the rows to ``quality.scorecards``
    (replacing this ``run_at``'s rows for those datasets, so a re-run does not duplicate history).
    A dataset an incremental run found unchanged carries its previous scores (``_carried``) instead of
    being read again. ``target``: a DuckDB connection or a warehouse from ``warehouses.py``."""
    warehouse = as_warehouse(target)
    previous = _previous(warehouse, run_at)
    conflicts = open_conflicts(warehouse)
    scored = [_carried(t, previous.get(t.table), run_at, conflicts) or _score(warehouse, t, run_at, conflicts)
              for t in gate.tables]
    warehouse.execute("create schema if not exists quality")
    warehouse.execute(_DDL)
    if scored:
        with warehouse.transaction():
            datasets = [r["dataset"] for r in scored]
            warehouse.execute("delete from quality.scorecards where run_at = cast(? as timestamp with time zone) "
                              f"and dataset in ({', '.join('?' for _ in datasets)})", [run_at, *datasets])
            for r in scored:
                warehouse.execute(f"insert into quality.scorecards ({', '.join(SCORECARD_COLUMNS)}) values "
                                  "(cast(? as timestamp with time zone), ?, ?, ?, ?, ?, ?, ?, ?)",
                                  [r[c] for c in SCORECARD_COLUMNS])
    return pd.DataFrame(scored, columns=SCORECARD_COLUMNS)


def department_scorecards(frame: pd.DataFrame) -> pd.DataFrame:
    """Roll dataset scorecards up to departments (row-weighted means; timeliness: the stalest dataset)."""
    scored = frame.dropna(subset=["department"]).copy()
    shares = ["completeness", "validity", "uniqueness", "consistency"]
    out = []
    for (run_at, department), group in scored.groupby(["run_at", "department"], sort=True):
        record = {"run_at": run_at, "department": department, "datasets": len(group), "rows": int(group["rows"].sum())}
        for share in shares:
            valid = group.dropna(subset=[share])
            weights = valid["rows"].clip(lower=1)
            record[share] = float((valid[share] * weights).sum() / weights.sum()) if len(valid) else None
        record["timeliness_hours"] = group["timeliness_hours"].max()
        out.append(record)
    return pd.DataFrame(out)


def scorecard_trend(target: Any, dataset: str) -> list[dict]:
    """The dataset's scorecards over time, oldest run first."""
    return scorecard_trends(target, dataset).get(dataset, [])


def scorecard_trends(target: Any, dataset: str | None = None, last: int = 30) -> dict[str, list[dict]]:
    """Every dataset's (or one dataset's) last ``last`` scorecards, oldest run first."""
    warehouse = as_warehouse(target)
    if not columns(warehouse, "quality.scorecards"):
        return {}
    frame = warehouse.frame(_latest("dataset = coalesce(?, dataset)", "?") + " order by dataset, run_at",
                            [dataset, last])
    frame["run_at"] = frame["run_at"].map(lambda t: t.isoformat())
    out: dict[str, list[dict]] = {}
    for r in frame.to_dict(orient="records"):
        out.setdefault(r["dataset"], []).append({k: (None if pd.isna(v) else v) for k, v in r.items()})
    return out
