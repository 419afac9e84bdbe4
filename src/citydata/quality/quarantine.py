"""Quarantine: copy the rows a row-level expectation rejected into ``quarantine.<schema>__<table>``.

The failing rows are computed in DuckDB SQL, written to mean what the Great Expectations expectation
means on the pandas frame the gate validates (nulls are "missing", not "unexpected", except for the
null expectations; ``row_condition`` with the pandas parser restricts the rows), so the number of rows
found equals the gate's ``unexpected_count``. Expectations without a SQL translation here quarantine
nothing (``quarantine_rows`` returns 0 and ``supports`` says False).

Each quarantined row carries ``_expectation``, ``_column``, ``_department``, ``_quarantined_at`` (the
run's logical time, passed in, never now()) and ``_key`` (the key columns joined with ``|``), then the
row's own columns. Writing is idempotent per (run, expectation, column, key).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import duckdb
import pandas as pd

from citydata.quality.gate import LOAD_TIME_COLUMNS, ROW_LEVEL, plan
from citydata.quality.suites import ExpectationSpec, Suite
from citydata.quality.warehouses import as_warehouse, columns
from citydata.quality.warehouses import physical as _physical
from citydata.quality.warehouses import quote as _ident

QUARANTINE_SCHEMA = "quarantine"
META_COLUMNS = ("_expectation", "_column", "_department", "_quarantined_at", "_key")
# identifier checks hold one row per source record and identifier column
OCCURRENCE_KEY = ["source_table", "source_column", "source_record_id"]


def _literal(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    return "'" + str(value).replace("'", "''") + "'"


def _in_list(values: list[Any]) -> str:
    return "(" + ", ".join(_literal(v) for v in values) + ")"


_CONDITION = re.compile(r"""^\s*(?:col\(\s*["']([^"']+)["']\s*\)|([A-Za-z_][A-Za-z0-9_]*))\s*(==|!=)\s*"""
                        r"""("[^"]*"|'[^']*'|-?[0-9.]+|True|False)\s*$""")


def _row_condition(kwargs: dict[str, Any]) -> str | None:
    """SQL for a ``row_condition`` made of ``col == value`` terms (``col("x")=="v"`` with GE's parser,
    ``x=="v"`` with pandas') joined by ``and``/``&``; 'true' when there is none; None when it is something
    this module cannot translate."""
    condition = kwargs.get("row_condition")
    if not condition:
        return "true"
    if kwargs.get("condition_parser", "pandas") not in ("pandas", "great_expectations"):
        return None
    terms = []
    for part in re.split(r"\s+and\s+|\s*&\s*", str(condition)):
        match = _CONDITION.match(part.strip().strip("()"))
        if not match:
            return None
        quoted, bare, op, raw = match.groups()
        column = quoted or bare
        if raw in ("True", "False"):
            value = _literal(raw == "True")
        elif raw[0] in "'\"":
            value = _literal(raw[1:-1])
        else:
            value = raw
        terms.append(f"{_ident(column)} {'=' if op == '==' else '<>'} {value}")
    return " and ".join(terms)


def _between(c: str, kw: dict[str, Any], expr: str | None = None) -> str:
    expr = expr or c
    checks = []
    if kw.get("min_value") is not None:
        checks.append(f"{expr} {'>' if kw.get('strict_min') else '>='} {_literal(kw['min_value'])}")
    if kw.get("max_value") is not None:
        checks.append(f"{expr} {'<' if kw.get('strict_max') else '<='} {_literal(kw['max_value'])}")
    return f"{c} is not null and not ({' and '.join(checks) or 'true'})"


# expectation type → (quoted column, kwargs) → SQL predicate true for an unexpected row
_PREDICATES: dict[str, Callable[[str, dict[str, Any]], str]] = {
    "expect_column_values_to_not_be_null": lambda c, kw: f"{c} is null",
    "expect_column_values_to_be_null": lambda c, kw: f"{c} is not null",
    "expect_column_values_to_match_regex":
        lambda c, kw: f"{c} is not null and not regexp_matches(cast({c} as varchar), {_literal(kw['regex'])})",
    "expect_column_values_to_not_match_regex":
        lambda c, kw: f"{c} is not null and regexp_matches(cast({c} as varchar), {_literal(kw['regex'])})",
    "expect_column_values_to_be_in_set":
        lambda c, kw: f"{c} is not null and {c} not in {_in_list(list(kw['value_set']))}",
    "expect_column_values_to_not_be_in_set":
        lambda c, kw: f"{c} is not null and {c} in {_in_list(list(kw['value_set']))}",
    "expect_column_values_to_be_between": _between,
    "expect_column_value_lengths_to_equal":
        lambda c, kw: f"{c} is not null and length(cast({c} as varchar)) <> {int(kw['value'])}",
    "expect_column_value_lengths_to_be_between":
        lambda c, kw: _between(c, kw, f"length(cast({c} as varchar))"),
    "expect_column_values_to_be_unique":
        lambda c, kw: f"{c} is not null and count(*) over (partition by {c}) > 1",
}


def supports(spec: ExpectationSpec) -> bool:
    """Whether ``spec`` is a row-level expectation this module can translate to SQL."""
    return spec.expectation in _PREDICATES and spec.column is not None and _row_condition(spec.kwargs) is not None


def failing_rows_sql(table: str, spec: ExpectationSpec, partition: str | None = None) -> str | None:
    """``select *`` of the rows of ``table`` that ``spec`` rejects, or None when not translatable.
    ``partition`` (SQL) restricts a row-level check to the changed rows, as the incremental gate does."""
    if not supports(spec):
        return None
    predicate = _PREDICATES[spec.expectation](_ident(spec.column), spec.kwargs)
    scope = f"select * from {_physical(table)} where {_row_condition(spec.kwargs)}"
    if partition and ROW_LEVEL.match(spec.expectation):
        scope += f" and {partition}"
    if "over (" in predicate:  # a window: evaluate it inside the row scope, then filter
        return (f"select * exclude (_unexpected) from (select *, ({predicate}) as _unexpected from ({scope})) "
                "where _unexpected")
    return f"select * from ({scope}) where {predicate}"


def quarantine_table(table: str) -> str:
    schema, _, name = table.partition(".")
    return f"{QUARANTINE_SCHEMA}.{schema}__{name}"


def quarantine_rows(con: duckdb.DuckDBPyConnection, table: str, spec: ExpectationSpec,
                    key_columns: list[str], *, run_at: str, partition: str | None = None) -> int:
    """Copy the rows of ``table`` that ``spec`` rejects into ``quarantine.<schema>__<table>``.

    Returns the number of rejected rows (GE's ``unexpected_count`` for the same table and spec), or 0
    when the expectation has no SQL translation here. Re-running for the same ``run_at`` adds nothing."""
    select = failing_rows_sql(table, spec, partition)
    if select is None:
        return 0
    if not key_columns:
        raise ValueError("key_columns must name the columns that identify a row")
    target = quarantine_table(table)
    q_schema, _, q_name = target.partition(".")
    key = "concat_ws('|', " + ", ".join(f"coalesce(cast({_ident(k)} as varchar), '')" for k in key_columns) + ")"
    staged = (f"select cast(? as varchar) as _expectation, cast(? as varchar) as _column, "
              f"cast(? as varchar) as _department, cast(? as timestamp with time zone) as _quarantined_at, "
              f"{key} as _key, * from ({select})")
    params = [spec.expectation, spec.column, spec.department, run_at]
    con.execute(f"create schema if not exists {_ident(QUARANTINE_SCHEMA)}")
    exists = con.execute("select count(*) from information_schema.tables where table_schema = ? and table_name = ?",
                         [q_schema, q_name]).fetchone()[0]
    if not exists:
        con.execute(f"create table {_physical(target)} as {staged} limit 0", params)
    else:  # the source grew columns since the quarantine table was created
        have = {r[0] for r in con.execute(f"describe {_physical(target)}").fetchall()}
        for name, dtype, *_ in con.execute(f"describe {staged}", params).fetchall():
            if name not in have:
                con.execute(f"alter table {_physical(target)} add column {_ident(name)} {dtype}")
    found = con.execute(f"select count(*) from ({select})").fetchone()[0]
    con.execute(
        f"insert into {_physical(target)} by name select * from ({staged}) as s where not exists ("
        f"select 1 from {_physical(target)} as q where q._quarantined_at = s._quarantined_at "
        "and q._expectation = s._expectation and q._column is not distinct from s._column and q._key = s._key) "
        "qualify row_number() over (partition by s._key) = 1", params)
    return int(found)


def _default_key(con: duckdb.DuckDBPyConnection, table: str) -> list[str]:
    columns = [d[0] for d in con.execute(f"select * from {_physical(table)} limit 0").description]
    return OCCURRENCE_KEY if set(OCCURRENCE_KEY) <= set(columns) else columns[:1]


def gate_specs(con: duckdb.DuckDBPyConnection, suites: list[Suite], gate: Any) -> list[tuple[str, ExpectationSpec, Any]]:
    """Pair every gate result with the spec it came from: ``(table, spec, ExpectationResult)``."""
    layers = tuple({suite.layer for suite in suites})
    specs_by_table = {table: entry.expectations for table, entry in plan(as_warehouse(con), suites, layers).items()}
    out = []
    for table_result in gate.tables:
        specs = specs_by_table.get(table_result.table, [])
        used: set[int] = set()
        for result in table_result.expectations:
            # the gate keeps suite order (missing columns last): take the first unused equal spec
            index = next((i for i, s in enumerate(specs) if i not in used and s.expectation == result.expectation
                          and s.column == result.column), None)
            if index is not None:
                used.add(index)
                out.append((table_result.table, specs[index], result))
    return out


def changed_partition(con: duckdb.DuckDBPyConnection, table: str, since: dict[str, str] | None) -> str | None:
    """The SQL condition the incremental gate used for ``table``'s row-level checks, if any."""
    if not since or table not in since:
        return None
    present = set(columns(as_warehouse(con), table))
    load_time = next((c for c in LOAD_TIME_COLUMNS if c in present), None)
    return f"{_ident(load_time)} > cast({_literal(since[table])} as timestamp with time zone)" if load_time else None


def quarantine_gate(con: duckdb.DuckDBPyConnection, suites: list[Suite], gate: Any, run_at: str,
                    key_columns: dict[str, list[str]] | None = None,
                    include_passing: bool = False, since: dict[str, str] | None = None) -> dict[str, int]:
    """Quarantine the rejected rows of every failed (or, with ``include_passing``, every non-clean)
    row-level expectation of a gate run. ``key_columns`` maps a table to its key; a table without one
    uses the identifier-occurrence key when it has those columns, else its first column. Returns
    ``{"<table>:<expectation>:<column>": rows}`` for what was quarantined."""
    out: dict[str, int] = {}
    for table, spec, result in gate_specs(con, suites, gate):
        if result.unexpected_count == 0 or (result.success and not include_passing) or not supports(spec):
            continue
        if result.detail:  # table or column missing: nothing to copy
            continue
        keys = (key_columns or {}).get(table) or _default_key(con, table)
        label = f"{table}:{spec.expectation}:{spec.column}"
        out[label] = out.get(label, 0) + quarantine_rows(con, table, spec, keys, run_at=run_at,
                                                         partition=changed_partition(con, table, since))
    return out


def list_quarantined(con: duckdb.DuckDBPyConnection, department: str | None = None) -> pd.DataFrame:
    """Every quarantined row (optionally only one department's), newest run first: the source table,
    the expectation, column, department, run time, key, and the row itself as JSON."""
    columns = ["_table", *META_COLUMNS, "_record"]
    tables = [r[0] for r in con.execute(
        "select table_name from information_schema.tables where table_schema = ? order by 1",
        [QUARANTINE_SCHEMA]).fetchall()]
    if not tables:
        return pd.DataFrame(columns=columns)
    parts = []
    for name in tables:
        schema, _, table = name.partition("__")
        parts.append(
            f"select {_literal(schema + '.' + table)} as _table, _expectation, _column, _department, "
            f"_quarantined_at, _key, cast(to_json(r) as varchar) as _record "
            f"from (select * exclude ({', '.join(META_COLUMNS)}), {', '.join(META_COLUMNS)} "
            f"from {_physical(QUARANTINE_SCHEMA + '.' + name)}) as r")
    sql = " union all ".join(parts)
    where = " where _department = ?" if department is not None else ""
    frame = con.execute(f"select * from ({sql}){where} order by _quarantined_at desc, _table, _expectation, _key",
                        [department] if department is not None else []).df()
    return frame[columns]
