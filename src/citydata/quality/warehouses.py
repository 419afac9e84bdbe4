"""The two warehouses, behind one small interface (the gate, publication, quarantine, scorecards and
the serving export use it; ``citydata.warehouse.engine.open_warehouse`` opens the one Settings choose).

- DuckDB: Great Expectations cannot reach DuckDB through SQLAlchemy (GE issues 10738, 11579), so a
  batch is the query's result read as Arrow and handed to GE's pandas datasource.
- PostgreSQL: GE's SQL datasource runs the expectations as SQL in the database (push-down); a batch
  is a query asset over the same SELECT.

SQL given to ``rows``/``execute``/``frame`` uses ``?`` placeholders on both engines. What SQL cannot say
the same way on both (regular expressions, a query's column types, replacing a table by a frame) is
here, once per engine.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, Protocol

import duckdb
import pandas as pd


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
    con: Any  # the driver's connection: DuckDB's, or psycopg2's

    def rows(self, sql: str, params: list[Any] | tuple = ()) -> list[tuple]: ...

    def execute(self, sql: str, params: list[Any] | tuple = ()) -> Any: ...  # ``.fetchall()`` gives the rows

    def frame(self, sql: str, params: list[Any] | tuple = ()) -> pd.DataFrame: ...

    def describe(self, sql: str, params: list[Any] | tuple = ()) -> list[tuple[str, str]]: ...

    def replace_table(self, table: str, frame: pd.DataFrame) -> None: ...

    def transaction(self) -> Any: ...

    def read_batch(self, sql: str) -> Any: ...  # what ``batch`` takes: the rows, or the query itself

    def batch(self, context: Any, name: str, data: Any) -> Any: ...  # a GE batch of ``read_batch``'s result

    def worker(self) -> Warehouse: ...  # for one other thread (``close`` it after)

    def close(self) -> None: ...


def regex_matches(engine: str, expression: str, pattern: str) -> str:
    """SQL true when ``expression`` (text) matches the regular expression ``pattern`` (a SQL literal):
    what GE's regex expectations mean on that engine (Python's ``re`` on DuckDB's pandas batches,
    PostgreSQL's ``~`` in its SQL push-down)."""
    if engine == "postgres":
        return f"({expression} ~ {pattern})"
    return f"regexp_matches({expression}, {pattern})"


def columns(warehouse: Warehouse, table: str) -> list[str]:
    """The table's columns in order; empty when it does not exist."""
    schema, _, name = table.partition(".")
    return [r[0] for r in warehouse.rows(
        "select column_name from information_schema.columns where table_schema = ? and table_name = ? "
        "order by ordinal_position", [schema, name])]


def tables_in(warehouse: Warehouse, schema: str) -> list[str]:
    return [r[0] for r in warehouse.rows(
        "select table_name from information_schema.tables where table_schema = ? order by table_name", [schema])]


class _Closing:
    """``with warehouse:`` closes it at the end."""

    def __enter__(self) -> Any:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()  # type: ignore[attr-defined]


class DuckWarehouse(_Closing):
    engine = "duckdb"

    def __init__(self, con: duckdb.DuckDBPyConnection):
        self.con = con

    def close(self) -> None:
        self.con.close()

    def rows(self, sql: str, params: list[Any] | tuple = ()) -> list[tuple]:
        return self.con.execute(sql, list(params)).fetchall()

    def execute(self, sql: str, params: list[Any] | tuple = ()) -> Any:
        return self.con.execute(sql, list(params))

    def frame(self, sql: str, params: list[Any] | tuple = ()) -> pd.DataFrame:
        return self.con.execute(sql, list(params)).df()

    def describe(self, sql: str, params: list[Any] | tuple = ()) -> list[tuple[str, str]]:
        return [(r[0], r[1]) for r in self.con.execute(f"describe {sql}", list(params)).fetchall()]

    def replace_table(self, table: str, frame: pd.DataFrame) -> None:
        """``table`` (quoted ``schema.table``) becomes ``frame``, with the frame's column types."""
        self.con.register("_replacing", frame)
        try:
            self.con.execute(f"create or replace table {table} as select * from _replacing")
        finally:
            self.con.unregister("_replacing")

    @contextmanager
    def transaction(self) -> Iterator[None]:
        self.con.execute("begin transaction")
        try:
            yield
        except BaseException:
            self.con.execute("rollback")
            raise
        self.con.execute("commit")

    def read_batch(self, sql: str) -> pd.DataFrame:
        return self.con.sql(sql).to_arrow_table().combine_chunks().to_pandas()

    def batch(self, context: Any, name: str, data: pd.DataFrame) -> Any:
        asset = _pandas_source(context).add_dataframe_asset(name)
        return asset.add_batch_definition_whole_dataframe("all").get_batch(batch_parameters={"dataframe": data})

    def worker(self) -> DuckWarehouse:
        """The same database on a cursor of its own (DuckDB's connections are not shared across threads)."""
        return DuckWarehouse(self.con.cursor())


def _pandas_source(context: Any) -> Any:
    try:
        return context.data_sources.get("warehouse")
    except (KeyError, ValueError, LookupError):
        return context.data_sources.add_pandas("warehouse")


class _Fetched:
    """Rows already read, behind DB-API's ``fetchall`` (what ``execute`` returns on PostgreSQL)."""

    def __init__(self, rows: list[tuple]):
        self._rows = rows

    def fetchall(self) -> list[tuple]:
        return self._rows


class PostgresWarehouse(_Closing):
    """A PostgreSQL warehouse reached by a SQLAlchemy URL (``postgresql+psycopg2://…``); its session runs
    in UTC. Outside :meth:`transaction` every statement commits on its own."""

    engine = "postgres"

    def __init__(self, url: str):
        import sqlalchemy

        from citydata.warehouse.postgres import SESSION_OPTIONS

        self.url = url
        self._engine = sqlalchemy.create_engine(url, pool_pre_ping=True, connect_args={"options": SESSION_OPTIONS})
        try:
            self._conn = self._engine.raw_connection()
        except BaseException:
            self._engine.dispose()
            raise
        self.con = self._conn
        self._in_transaction = False

    def close(self) -> None:
        self._conn.close()
        self._engine.dispose()

    def _run(self, sql: str, params: list[Any] | tuple, read: Any) -> Any:
        from citydata.warehouse.postgres import psycopg_sql

        params = list(params)
        try:
            with self._conn.cursor() as cur:
                cur.execute(psycopg_sql(sql, bool(params)), params or None)
                got = read(cur)
        except BaseException:
            if not self._in_transaction:
                self._conn.rollback()
            raise
        if not self._in_transaction:
            self._conn.commit()
        return got

    def rows(self, sql: str, params: list[Any] | tuple = ()) -> list[tuple]:
        return self._run(sql, params, lambda cur: cur.fetchall() if cur.description else [])

    def execute(self, sql: str, params: list[Any] | tuple = ()) -> Any:
        return _Fetched(self.rows(sql, params))

    def frame(self, sql: str, params: list[Any] | tuple = ()) -> pd.DataFrame:
        names, rows = self._run(sql, params, lambda cur: ([d.name for d in cur.description], cur.fetchall()))
        return pd.DataFrame.from_records(rows, columns=names)

    def describe(self, sql: str, params: list[Any] | tuple = ()) -> list[tuple[str, str]]:
        described = self._run(f"select * from ({sql}) as described limit 0", params,
                              lambda cur: [(d.name, d.type_code) for d in cur.description])
        names = dict(self.rows("select oid, format_type(oid, null) from pg_type where oid = any(?)",
                               [[oid for _, oid in described]]))
        return [(name, names[oid]) for name, oid in described]

    def replace_table(self, table: str, frame: pd.DataFrame) -> None:
        """``table`` (quoted ``schema.table``) becomes ``frame``: each column keeps the table's type,
        except text where the frame now holds text in a column that was not (generalised values)."""
        from citydata.warehouse.postgres import copy_rows, plain

        types = dict(self.rows("select attname, format_type(atttypid, atttypmod) from pg_attribute "
                               "where attrelid = cast(? as regclass) and attnum > 0 and not attisdropped "
                               "order by attnum", [table]))
        declared = []
        for name in frame.columns:
            kind = types.get(name, "text")
            values = frame[name].dropna()
            if len(values) and all(isinstance(v, str) for v in values) and not _texty(kind):
                kind = "text"
            declared.append(f"{quote(name)} {kind}")
        integral = {name for name in frame.columns if types.get(name) in ("smallint", "integer", "bigint")}
        with self.transaction():
            self.execute(f"drop table {table}")
            self.execute(f"create table {table} ({', '.join(declared)})")
            rows = ([int(v) if name in integral and isinstance(v, float) else v
                     for name, v in zip(frame.columns, map(plain, record))]
                    for record in frame.itertuples(index=False, name=None))
            with self._conn.cursor() as cur:
                copy_rows(cur, table, [str(c) for c in frame.columns], rows)

    def arrow_batches(self, schema: str, table: str) -> Iterator[Any]:
        """``schema.table`` as Arrow record batches (see ``citydata.warehouse.postgres.arrow_batches``)."""
        from citydata.warehouse.postgres import arrow_batches

        try:
            yield from arrow_batches(self._conn, schema, table)
        finally:
            if not self._in_transaction:
                self._conn.rollback()

    @contextmanager
    def transaction(self) -> Iterator[None]:
        if self._in_transaction:  # nested: part of the enclosing transaction
            yield
            return
        self._in_transaction = True
        try:
            yield
        except BaseException:
            self._conn.rollback()
            raise
        finally:
            self._in_transaction = False
        self._conn.commit()

    def read_batch(self, sql: str) -> str:
        return sql  # GE runs it, pushing the expectations down

    def batch(self, context: Any, name: str, data: str) -> Any:
        try:
            source = context.data_sources.get("warehouse")
        except (KeyError, ValueError, LookupError):
            source = context.data_sources.add_postgres("warehouse", connection_string=self.url)
        asset = source.add_query_asset(name, query=data)
        return asset.add_batch_definition_whole_table("all").get_batch()

    def worker(self) -> PostgresWarehouse:
        """A connection of its own to the same database."""
        return PostgresWarehouse(self.url)


def _texty(kind: str) -> bool:
    return kind == "text" or kind.startswith(("character", "varchar"))


def as_warehouse(target: Any) -> Warehouse:
    """A DuckDB connection or an existing warehouse."""
    if isinstance(target, duckdb.DuckDBPyConnection):
        return DuckWarehouse(target)
    return target
