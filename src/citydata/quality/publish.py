"""Write–audit–publish: the marts dbt built are the audited copies; those that passed the gate are
swapped into the ``published`` schema in one transaction.

Consumers (portal, API, catalog) read only ``published``. The swap replaces every published table in
one transaction on both engines (PostgreSQL DDL is transactional; DuckDB's too), so a reader sees the
whole previous version or the whole new one; a gate failure leaves the last good version untouched.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from citydata.quality.baselines import PUBLISHED_SCHEMA
from citydata.quality.warehouses import as_warehouse, physical, quote

# The warehouse schemas whose tables (the base-library marts) are published.
MART_SCHEMAS = ("population", "legal_entity", "credit", "governance", "history")


def publish(target: Any, tables: list[str], before_commit: Callable[[], Any] | None = None) -> dict[str, int]:
    """``tables`` are ``<schema>.<table>``; each becomes ``published.<table>``. Returns row counts
    (after ``before_commit``, which runs inside the swap's transaction: de-identification of open
    data, so no reader ever sees the raw version). ``target`` is a DuckDB connection or a warehouse
    from ``warehouses.py``."""
    warehouse = as_warehouse(target)
    counts: dict[str, int] = {}
    with warehouse.transaction():
        warehouse.execute(f"create schema if not exists {PUBLISHED_SCHEMA}")
        for qualified in tables:
            name = qualified.partition(".")[2]
            target_table = f"{PUBLISHED_SCHEMA}.{quote(name)}"
            warehouse.execute(f"drop table if exists {target_table}")
            warehouse.execute(f"create table {target_table} as select * from {physical(qualified)}")
        if before_commit is not None:
            before_commit()
        for qualified in tables:
            name = qualified.partition(".")[2]
            counts[f"{PUBLISHED_SCHEMA}.{name}"] = warehouse.rows(
                f"select count(*) from {PUBLISHED_SCHEMA}.{quote(name)}")[0][0]
    return counts
