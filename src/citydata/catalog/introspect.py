"""Read column names and types of warehouse tables from ``information_schema`` (DuckDB or PostgreSQL)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any


def warehouse_columns(con: Any, schemas: Iterable[str] | None = None) -> dict[str, list[tuple[str, str]]]:
    """``{"<schema>.<table>": [(column, data_type), …]}`` in ordinal order, for ``build_catalog``.

    ``con`` is a DuckDB connection or any DB-API connection whose ``execute`` returns a cursor.
    """
    rows = con.execute(
        "select table_schema, table_name, column_name, data_type from information_schema.columns "
        "where table_schema not in ('information_schema', 'pg_catalog') "
        "order by table_schema, table_name, ordinal_position").fetchall()
    wanted = set(schemas) if schemas is not None else None
    out: dict[str, list[tuple[str, str]]] = {}
    for schema, table, column, data_type in rows:
        if wanted is None or schema in wanted:
            out.setdefault(f"{schema}.{table}", []).append((str(column), str(data_type)))
    return out
