"""Write–audit–publish: copy audited mart tables into the ``published`` schema in one transaction.

Consumers (portal, API, catalog) read only ``published``; a gate failure leaves the last good
version there untouched.
"""

from __future__ import annotations

import duckdb

PUBLISHED_SCHEMA = "published"


def publish(con: duckdb.DuckDBPyConnection, tables: list[str]) -> dict[str, int]:
    """``tables`` are ``<schema>.<table>``; each becomes ``published.<table>``. Returns row counts."""
    counts: dict[str, int] = {}
    con.execute("begin transaction")
    try:
        con.execute(f"create schema if not exists {PUBLISHED_SCHEMA}")
        for qualified in tables:
            schema, _, name = qualified.partition(".")
            con.execute(f'create or replace table {PUBLISHED_SCHEMA}."{name}" as select * from "{schema}"."{name}"')
            counts[f"{PUBLISHED_SCHEMA}.{name}"] = con.execute(
                f'select count(*) from {PUBLISHED_SCHEMA}."{name}"').fetchone()[0]
        con.execute("commit")
    except Exception:
        con.execute("rollback")
        raise
    return counts
