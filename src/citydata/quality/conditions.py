"""Expectation ``row_condition``s as SQL, and SQL literals.

A suite restricts a check to some rows with GE's ``row_condition`` (``col("source_table")=="hrss__enrolments"``
with GE's parser, ``source_table=="hrss__enrolments"`` with pandas'). The gate pushes such a condition into
the batch's query instead of letting GE filter a pandas frame once per metric, and the quarantine finds
the failing rows with the same SQL, so both see the same rows.
"""

from __future__ import annotations

import re
from typing import Any

from citydata.quality.warehouses import quote

_CONDITION = re.compile(r"""^\s*(?:col\(\s*["']([^"']+)["']\s*\)|([A-Za-z_][A-Za-z0-9_]*))\s*(==|!=)\s*"""
                        r"""("[^"]*"|'[^']*'|-?[0-9.]+|True|False)\s*$""")


def literal(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    return "'" + str(value).replace("'", "''") + "'"


def row_condition_sql(kwargs: dict[str, Any]) -> str | None:
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
            value = literal(raw == "True")
        elif raw[0] in "'\"":
            value = literal(raw[1:-1])
        else:
            value = raw
        terms.append(f"{quote(column)} {'=' if op == '==' else '<>'} {value}")
    return " and ".join(terms)
