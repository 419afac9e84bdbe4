"""Which rows a check sees: the gate's working record per expectation, its ``row_condition`` pushed into
the batch query (``conditions.py``), and on incremental runs its scope — the changed partition for a
strict row-level check, the rows sharing a changed key for uniqueness, else the whole table."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from citydata.quality.conditions import row_condition_sql
from citydata.quality.suites import ExpectationSpec
from citydata.quality.warehouses import physical, quote

LOAD_TIME_COLUMNS = ("loaded_at", "_loaded_at")
# expectations judged row by row: valid on a partition of the table
ROW_LEVEL = re.compile(r"^expect_column_values?_(?!to_be_unique)|^expect_column_value_lengths_")
_CONDITION_COLUMNS = re.compile(r"""col\(\s*["']([^"']+)["']\s*\)|^\s*\(?\s*([A-Za-z_][A-Za-z0-9_]*)\s*[=!<>]""")


def partitionable(spec: ExpectationSpec) -> bool:
    """Whether checking only the changed rows gives the whole table's verdict: a strict row-level check
    (every row must pass). A ``mostly`` check is a share of the whole table, so it reads the whole table."""
    return bool(ROW_LEVEL.match(spec.expectation)) and spec.kwargs.get("mostly") in (None, 1, 1.0)


def condition_columns(kwargs: dict[str, Any]) -> set[str]:
    condition = str(kwargs.get("row_condition") or "")
    return {a or b for part in re.split(r"\s+and\s+|\s*&\s*", condition)
            for a, b in _CONDITION_COLUMNS.findall(part)}


@dataclass
class Check:
    spec: ExpectationSpec
    kwargs: dict[str, Any] | None  # None: nothing to compare with yet
    detail: str
    scope: str = "whole"  # "whole", "changed" (the changed rows) or "keys:<column>" (rows sharing their keys)
    condition: str | None = None  # the spec's row_condition as SQL, pushed into the batch's query


def pushed(kwargs: dict[str, Any] | None) -> tuple[dict[str, Any] | None, str | None]:
    """(the kwargs GE gets, the SQL condition the batch query applies): a translatable ``row_condition``
    leaves GE's kwargs for the query's WHERE clause."""
    if kwargs is None or not kwargs.get("row_condition"):
        return kwargs, None
    condition = row_condition_sql(kwargs)
    if condition is None:
        return kwargs, None
    return {k: v for k, v in kwargs.items() if k not in ("row_condition", "condition_parser")}, condition


def scope_of(spec: ExpectationSpec, incremental: bool) -> str:
    """Which rows an incremental run must show the check. A uniqueness check sees the rows whose key
    occurs among the changed rows: the previous version passed, so any duplicate now involves one."""
    if not incremental:
        return "whole"
    if partitionable(spec):
        return "changed"
    if spec.expectation == "expect_column_values_to_be_unique" and not spec.kwargs.get("row_condition"):
        return f"keys:{spec.column}"
    return "whole"


def scope_condition(scope: str, changed: str | None, relation: str) -> str | None:
    if scope == "whole" or changed is None:
        return None
    if scope == "changed":
        return changed
    column = quote(scope.partition(":")[2])
    return f"{column} in (select {column} from {relation} where {changed})"


def select_sql(table: str, names: set[str], derived: dict[str, str], available: list[str],
            where: str | None, schema_map: dict[str, str] | None, source: str | None = None) -> str:
    parts = [f"{derived[n]} as {quote(n)}" if n in derived else quote(n) for n in sorted(names)]
    parts = parts or [quote(available[0])]
    return (f"select {', '.join(parts)} from {source or physical(table, schema_map)}"
            + (f" where {where}" if where else ""))
