"""The two warehouses the gate validates, behind one small interface.

- DuckDB: Great Expectations cannot reach DuckDB through SQLAlchemy (GE issues 10738, 11579), so a
  batch is the query's result read as Arrow and handed to GE's pandas datasource.
- PostgreSQL: GE's SQL datasource runs the expectations as SQL in the database (push-down); a batch
  is a query asset over the same SELECT.

SQL given to ``rows``/``execute`` uses ``?`` placeholders on both engines.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, Protocol

import duckdb


def quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def mapped(table: str, schema_map: dict[str, str] | None = None) -> str:
    """``schema.table`` with the schema redirected through ``schema_map``."""
    schema, _, name = table.partition(".")
    return f"{(schema_map or {}).get(schema, schema)}.{name}"


def physical(table: str, schema_map: dict[str, str] | None = None) -> str:
    """``schema.table`` quoted, with the schema redirected through ``schema_map``."""
    schema, _, name = mapped(table, schema_map).partition(".")
    return f"{quote(schema)}.{quote(name)}"


class Warehouse(Protocol):
    engine: str

    def rows(self, sql: str, params: list[Any] | tuple = ()) -> list[tuple]: ...

    def execute(self, sql: str, params: list[Any] | tuple = ()) -> None: ...

    def transaction(self) -> Any: ...

    def add_batch(self, context: Any, name: str, sql: str) -> Any: ...


def columns(warehouse: Warehouse, table: str) -> list[str]:
    """The table's columns in order; empty when it does not exist."""
    schema, _, name = table.partition(".")
    return [r[0] for r in warehouse.rows(
        "select column_name from information_schema.columns where table_schema = ? and table_name = ? "
        "order by ordinal_position", [schema, name])]


def tables_in(warehouse: Warehouse, schema: str) -> list[str]:
    return [r[0] for r in warehouse.rows(
        "select table_name from information_schema.tables where table_schema = ? order by table_name", [schema])]


class DuckWarehouse:
    engine = "duckdb"

    def __init__(self, con: duckdb.DuckDBPyConnection):
        self.con = con

    def rows(self, sql: str, params: list[Any] | tuple = ()) -> list[tuple]:
        return self.con.execute(sql, list(params)).fetchall()

    def execute(self, sql: str, params: list[Any] | tuple = ()) -> None:
        self.con.execute(sql, list(params))

    @contextmanager
    def transaction(self) -> Iterator[None]:
        self.con.execute("begin transaction")
        try:
            yield
        except BaseException:
            self.con.execute("rollback")
            raise
        self.con.execute("commit")

    def add_batch(self, context: Any, name: str, sql: str) -> Any:
        frame = self.con.sql(sql).to_arrow_table().to_pandas()
        source = _pandas_source(context)
        asset = source.add_dataframe_asset(name)
        return asset.add_batch_definition_whole_dataframe("all").get_batch(batch_parameters={"dataframe": frame})


def _pandas_source(context: Any) -> Any:
    try:
        return context.data_sources.get("warehouse")
    except (KeyError, ValueError, LookupError):
        return context.data_sources.add_pandas("warehouse")


class PostgresWarehouse:
    """A PostgreSQL warehouse reached by a SQLAlchemy URL (``postgresql+psycopg2://…``)."""

    engine = "postgres"

    def __init__(self, url: str):
        import sqlalchemy

        self.url = url
        self._engine = sqlalchemy.create_engine(url, pool_pre_ping=True)
        self._conn = self._engine.raw_connection()
        self._in_transaction = False

    def close(self) -> None:
        self._conn.close()
        self._engine.dispose()

    def rows(self, sql: str, params: list[Any] | tuple = ()) -> list[tuple]:
        with self._conn.cursor() as cur:
            cur.execute(sql.replace("?", "%s"), list(params))
            got = cur.fetchall() if cur.description else []
        if not self._in_transaction:
            self._conn.commit()
        return got

    def execute(self, sql: str, params: list[Any] | tuple = ()) -> None:
        self.rows(sql, params)

    @contextmanager
    def transaction(self) -> Iterator[None]:
        self._in_transaction = True
        try:
            yield
        except BaseException:
            self._conn.rollback()
            raise
        finally:
            self._in_transaction = False
        self._conn.commit()

    def add_batch(self, context: Any, name: str, sql: str) -> Any:
        try:
            source = context.data_sources.get("warehouse")
        except (KeyError, ValueError, LookupError):
            source = context.data_sources.add_postgres("warehouse", connection_string=self.url)
        asset = source.add_query_asset(name, query=sql)
        return asset.add_batch_definition_whole_table("all").get_batch()


def as_warehouse(target: Any) -> Warehouse:
    """A DuckDB connection or an existing warehouse."""
    if isinstance(target, duckdb.DuckDBPyConnection):
        return DuckWarehouse(target)
    return target
