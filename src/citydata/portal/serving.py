"""The portal's copy of what was published: ``serving.duckdb``, written beside the warehouse and
swapped in by atomic rename after each publish.

The portal never opens the warehouse the pipeline writes (a DuckDB file admits one writing process;
a PostgreSQL warehouse stays inside the pipeline's network). :func:`export_serving` copies the
``published`` schema, quarantine and quality history of either warehouse into a new DuckDB file and
renames it over the old one, so a reader sees the whole previous version or the whole new one. :class:`ServingStore` keeps one read-only connection per
file version and gives each request its own cursor; queries name only tables and columns that
exist and pass every value as a parameter.
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pandas as pd

from citydata.circulation.detectors import classify_frame
from citydata.errors import CityDataError
from citydata.quality.baselines import PUBLISHED_SCHEMA
from citydata.quality.publish import MART_SCHEMAS
from citydata.quality.warehouses import Warehouse, quote

# What the portal serves besides ``published``: quarantined rows (stewards see their department's)
# and the quality history (scorecards, gate runs).
SERVED_SCHEMAS = (PUBLISHED_SCHEMA, "quarantine")
SERVED_TABLES = ("quality.scorecards", "quality.gate_runs", "quality.kanon_checks")


def export_serving(warehouse: Warehouse, serving_path: Path) -> dict[str, int]:
    """Copy ``published.*``, ``quarantine.*`` and the quality history of ``warehouse`` (DuckDB or
    PostgreSQL, see ``quality/warehouses.py``) into the DuckDB file ``serving_path`` (atomically); row
    counts per ``schema.table``."""
    serving_path.parent.mkdir(parents=True, exist_ok=True)
    tmp = serving_path.with_name(f".{serving_path.name}.{os.getpid()}.tmp")
    tmp.unlink(missing_ok=True)
    tables = [(schema, table) for schema, table in warehouse.rows(
        "select table_schema, table_name from information_schema.tables where table_type = 'BASE TABLE' "
        "and table_catalog = current_database() order by 1, 2") if schema in SERVED_SCHEMAS or f"{schema}.{table}" in SERVED_TABLES]
    if warehouse.engine == "duckdb":
        counts = _copy_within_duckdb(warehouse.con, tmp, tables)
    else:
        counts = _copy_from_postgres(warehouse, tmp, tables)
    os.replace(tmp, serving_path)
    return counts


def _copy_within_duckdb(con: duckdb.DuckDBPyConnection, tmp: Path, tables: list[tuple[str, str]]) -> dict[str, int]:
    """The serving file attached to the warehouse's own connection, filled with ``create table as``."""
    counts: dict[str, int] = {}
    con.execute(f"attach {_literal(str(tmp))} as serving")
    try:
        for schema in sorted({schema for schema, _ in tables} | {PUBLISHED_SCHEMA}):
            con.execute(f"create schema if not exists serving.{quote(schema)}")
        for schema, table in tables:
            target = f"{quote(schema)}.{quote(table)}"
            con.execute(f"create table serving.{target} as select * from {target}")
            counts[f"{schema}.{table}"] = con.execute(f"select count(*) from serving.{target}").fetchall()[0][0]
        con.execute("checkpoint serving")
    finally:
        con.execute("detach serving")
    return counts


def _copy_from_postgres(warehouse: Warehouse, tmp: Path, tables: list[tuple[str, str]]) -> dict[str, int]:
    """Each table read from PostgreSQL as typed Arrow batches and written into the serving file."""
    counts: dict[str, int] = {}
    con = duckdb.connect(tmp)
    try:
        for schema in sorted({schema for schema, _ in tables} | {PUBLISHED_SCHEMA}):
            con.execute(f"create schema if not exists {quote(schema)}").fetchall()
        for schema, table in tables:
            target = f"{quote(schema)}.{quote(table)}"
            for n, batch in enumerate(warehouse.arrow_batches(schema, table)):
                con.register("_batch", batch)
                try:
                    con.execute(f"{f'create table {target} as' if n == 0 else f'insert into {target}'} "
                                "select * from _batch").fetchall()
                finally:
                    con.unregister("_batch")
            counts[f"{schema}.{table}"] = con.execute(f"select count(*) from {target}").fetchall()[0][0]
        con.execute("checkpoint")
    finally:
        con.close()
    return counts


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def dataset_name(fqn: str) -> str:
    """``warehouse.citydata.population.persons`` → ``population.persons`` (the name usage policies use)."""
    parts = fqn.split(".")
    return ".".join(parts[-2:]) if len(parts) >= 2 else fqn


@dataclass(frozen=True)
class Page:
    rows: pd.DataFrame
    total: int
    limit: int
    offset: int


class ServingStore:
    """Read-only access to ``serving.duckdb``: which datasets have data, their columns and rows."""

    def __init__(self, path: Path):
        self.path = Path(path)
        self._lock = threading.Lock()
        self._key: tuple[int, int] | None = None
        self._con: duckdb.DuckDBPyConnection | None = None
        self._columns: dict[str, list[str]] = {}
        self._detected: dict[tuple, dict[str, str | None]] = {}
        self._detecting = threading.Lock()

    def _cursor(self) -> duckdb.DuckDBPyConnection:
        try:
            stat = self.path.stat()
        except FileNotFoundError:
            raise CityDataError(f"no published data at {self.path}: run `make demo` (or the publish DAG)") from None
        key = (stat.st_ino, stat.st_mtime_ns)
        with self._lock:
            if key != self._key or self._con is None:
                # the old connection keeps reading the renamed-over file until its cursors finish
                self._con = duckdb.connect(str(self.path), read_only=True)
                self._columns = {
                    table: [] for (table,) in self._con.execute(
                        "select table_name from duckdb_tables() where schema_name = ?", [PUBLISHED_SCHEMA]).fetchall()}
                for table, column in self._con.execute(
                        "select table_name, column_name from duckdb_columns() where schema_name = ?"
                        " order by table_name, column_index", [PUBLISHED_SCHEMA]).fetchall():
                    self._columns[table].append(column)
                self._key = key
            return self._con.cursor()

    def table_of(self, dataset: str) -> str | None:
        """The published table holding ``dataset`` (``<library>.<table>``), or None if it has no data here
        (only the base libraries' marts are published)."""
        schema, _, table = dataset.partition(".")
        if schema not in MART_SCHEMAS:  # a department's own table may share a mart's name
            return None
        try:
            self._cursor().close()
        except CityDataError:
            return None
        return table if table in self._columns else None

    def columns(self, table: str) -> list[str]:
        self._cursor().close()
        if table not in self._columns:
            raise CityDataError(f"no published table {table!r}")
        return list(self._columns[table])

    def page(self, table: str, *, filters: dict[str, str] | None = None, limit: int = 100,
             offset: int = 0, order_by: str | None = None) -> Page:
        """Rows of ``published.<table>`` where each filtered column equals its value (as text)."""
        columns = self.columns(table)
        filters = filters or {}
        unknown = sorted(set(filters) - set(columns))
        if unknown:
            raise CityDataError(f"{table} has no column {', '.join(map(repr, unknown))}; "
                                f"columns: {', '.join(columns)}")
        order = order_by or columns[0]
        if order not in columns:
            raise CityDataError(f"cannot order {table} by {order!r}: no such column")
        where = " and ".join(f"cast({quote(c)} as varchar) = ?" for c in filters) or "true"
        source = f"{PUBLISHED_SCHEMA}.{quote(table)}"
        params = list(filters.values())
        cur = self._cursor()
        try:
            total = cur.execute(f"select count(*) from {source} where {where}", params).fetchone()[0]
            rows = cur.execute(f"select * from {source} where {where} order by {quote(order)} limit ? offset ?",
                               [*params, limit, offset]).df()
        finally:
            cur.close()
        return Page(rows, int(total), limit, offset)

    def all_rows(self, table: str) -> pd.DataFrame:
        self.columns(table)
        cur = self._cursor()
        try:
            return cur.execute(f"select * from {PUBLISHED_SCHEMA}.{quote(table)}").df()
        finally:
            cur.close()

    def detected_classes(self, table: str) -> dict[str, str | None]:
        """What the circulation detectors find in each column over the whole table (their own sample),
        once per version of the serving file: release then need not re-detect on every page."""
        self._cursor().close()
        key = (self._key, table)
        with self._detecting:  # one scan at a time: concurrent first readers wait for it, not redo it
            with self._lock:
                found = self._detected.get(key)
            if found is None:
                found = {d.column: d.classification for d in classify_frame(self.all_rows(table))}
                with self._lock:
                    self._detected = {k: v for k, v in self._detected.items() if k[0] == self._key}
                    self._detected[key] = found
        return found

    def count(self, table: str) -> int:
        return self.page(table, limit=0).total

    def query(self, sql: str, params: list | None = None) -> pd.DataFrame:
        """A read-only query of the serving file (quarantine, quality history). Pass values as ``?``
        parameters; never format user input into ``sql``."""
        cur = self._cursor()
        try:
            return cur.execute(sql, params or []).df()
        finally:
            cur.close()
