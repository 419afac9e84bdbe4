"""Raw tables on a PostgreSQL warehouse: the change log and current-state view of ``raw.py``, with the
same names, columns and meaning, written with PostgreSQL's means.

- ``raw.<connector>__<table>`` (created by ``raw.ensure_table``: the same DDL on both engines) gets a unique
  index on the event identity (``_key``, ``_source_seq``, ``_source_subseq``, ``_op``); an append COPYs
  the batch into a temporary table and inserts it ``on conflict do nothing``, so a replay adds nothing.
- ``raw.<connector>__<table>__current``: ``distinct on (_key)`` in change order, deletes removed;
  recreated only when the table's columns changed.

``con`` is a psycopg2 connection; the caller commits (``raw.transaction``).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import Any

import pyarrow as pa

from citydata.warehouse.postgres import copy_rows
from citydata.warehouse.raw import LATEST_FIRST, RAW_SCHEMA, current_view_name, existing_columns, run, table_name

_VIEW_META = ("_key", "_op", "_source_pos", "_source_ts_ms", "_loaded_at")
_EVENT = ("_key", "_source_seq", "_source_subseq", "_op")


def _quoted(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _relation(name: str) -> str:
    return f"{RAW_SCHEMA}.{_quoted(name)}"


def _index_name(name: str) -> str:
    """A name for the event index within PostgreSQL's 63 characters, unique per table."""
    return f"{name[:40]}__event_{hashlib.sha1(name.encode()).hexdigest()[:8]}"


def ensure_index_and_view(con: Any, connector: str, table: str, data_cols: Sequence[str]) -> None:
    """The change log's unique event index, and its current-state view (recreated only when the table's
    columns changed: PostgreSQL cannot replace a view with other columns)."""
    name, view = table_name(connector, table), current_view_name(connector, table)
    run(con, f"create unique index if not exists {_quoted(_index_name(name))} on {_relation(name)} "
             f"({', '.join(_EVENT)})")
    if existing_columns(con, view) == [*data_cols, *_VIEW_META]:
        return
    run(con, f"drop view if exists {_relation(view)}")
    run(con, f"""
        create view {_relation(view)} as
        select {', '.join(_quoted(c) for c in [*data_cols, *_VIEW_META])}
        from (
            select distinct on (_key) * from {_relation(name)}
            order by _key, {LATEST_FIRST}
        ) as latest
        where _op <> 'd'
    """)


def insert_batch(con: Any, connector: str, table: str, batch: pa.Table) -> int:
    """Insert an Arrow batch of change events (the table must exist), skipping any already stored and
    any repeated within the batch (the first offset wins). Returns rows inserted."""
    name = table_name(connector, table)
    columns = batch.column_names
    cols = ", ".join(_quoted(c) for c in columns)
    with con.cursor() as cur:
        cur.execute("drop table if exists _incoming")
        cur.execute(f"create temporary table _incoming as select {cols} from {_relation(name)} with no data")
        for chunk in batch.to_batches(max_chunksize=50_000):
            copy_rows(cur, "_incoming", columns, zip(*(c.to_pylist() for c in chunk.columns)))
        cur.execute(f"""
            insert into {_relation(name)} ({cols})
            select {cols} from (
                select distinct on ({', '.join(_EVENT)}) * from _incoming
                order by {', '.join(_EVENT)}, _offset
            ) as incoming
            on conflict ({', '.join(_EVENT)}) do nothing
        """)
        inserted = cur.rowcount
        cur.execute("drop table _incoming")
    return int(inserted)
