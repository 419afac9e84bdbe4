"""The PostgreSQL warehouse's plumbing: its URL from Settings, DuckDB-style ``?`` SQL for psycopg2, bulk
COPY of Python rows in, and Arrow batches out (for the portal's DuckDB serving copy).

Sessions run in UTC (``SESSION_OPTIONS``), so timestamps read back compare equal to DuckDB's.
"""

from __future__ import annotations

import datetime as dt
import io
import math
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

import pyarrow as pa

from citydata.settings import WarehouseSettings

SESSION_OPTIONS = "-c TimeZone=UTC"
COPY_ROWS = 50_000  # rows per COPY / per Arrow batch: bounds memory, not throughput
_ARROW = {"character varying": pa.string(), "text": pa.string(), "character": pa.string(),
          "smallint": pa.int16(), "integer": pa.int32(), "bigint": pa.int64(), "boolean": pa.bool_(),
          "real": pa.float32(), "double precision": pa.float64(), "date": pa.date32(),
          "timestamp with time zone": pa.timestamp("us", tz="UTC"), "timestamp without time zone": pa.timestamp("us")}


def url(warehouse: WarehouseSettings) -> str:
    """The SQLAlchemy URL (``postgresql+psycopg2://…``) of the warehouse database, password included."""
    from sqlalchemy.engine import URL

    password = warehouse.password.get_secret_value() if warehouse.password else None
    return URL.create("postgresql+psycopg2", username=warehouse.user, password=password, host=warehouse.host,
                      port=warehouse.port, database=warehouse.database).render_as_string(hide_password=False)


def psycopg_sql(sql: str, has_params: bool) -> str:
    """``sql`` with ``?`` placeholders for psycopg2: outside quotes ``?`` becomes ``%s``, and with
    parameters every literal ``%`` is doubled (psycopg2 formats the whole text then)."""
    if not has_params:
        return sql
    out, quote = [], None
    for ch in sql:
        if ch == "%":
            out.append("%%")
        elif quote is not None:
            quote = None if ch == quote else quote
            out.append(ch)
        elif ch in "'\"":
            quote = ch
            out.append(ch)
        else:
            out.append("%s" if ch == "?" else ch)
    return "".join(out)


def plain(value: Any) -> Any:
    """A Python value psycopg2 and COPY understand: numpy scalars unwrapped, pandas' missing values
    (``NA``, ``NaT``, float NaN) as None."""
    if value is None:
        return None
    if hasattr(value, "item") and not isinstance(value, str | bytes):  # numpy scalar
        value = value.item()
    if isinstance(value, float) and math.isnan(value):
        return None
    if type(value).__name__ in ("NAType", "NaTType"):
        return None
    return value


def _csv_field(value: Any) -> str:
    value = plain(value)
    if value is None:
        return ""  # unquoted empty: NULL in COPY's CSV format; an empty string is written quoted
    if isinstance(value, dt.datetime | dt.date):
        value = value.isoformat()
    return '"' + str(value).replace('"', '""') + '"'


def copy_rows(cursor: Any, relation: str, columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> int:
    """COPY ``rows`` into ``relation`` (its ``columns``, quoted by the caller's names) in CSV chunks of
    ``COPY_ROWS``; returns rows written."""
    names = ", ".join('"' + c.replace('"', '""') + '"' for c in columns)
    statement = f"copy {relation} ({names}) from stdin with (format csv)"
    written, buffer = 0, io.StringIO()

    def flush() -> None:
        buffer.seek(0)
        cursor.copy_expert(statement, buffer)
        buffer.seek(0)
        buffer.truncate()

    for row in rows:
        buffer.write(",".join(_csv_field(v) for v in row))
        buffer.write("\n")
        written += 1
        if written % COPY_ROWS == 0:
            flush()
    if written % COPY_ROWS:
        flush()
    return written


def arrow_batches(conn: Any, schema: str, table: str) -> Iterator[pa.RecordBatch]:
    """``schema.table`` read as Arrow record batches typed from PostgreSQL's column types (numerics
    with a declared scale as decimals, other numerics as doubles, anything unmapped as text). An empty
    table yields one empty batch, so its columns are still known."""
    with conn.cursor() as cur:
        cur.execute("select column_name, data_type, numeric_precision, numeric_scale from information_schema.columns "
                    "where table_schema = %s and table_name = %s order by ordinal_position", [schema, table])
        described = cur.fetchall()
    fields, select = [], []
    for name, data_type, precision, scale in described:
        column = '"' + name.replace('"', '""') + '"'
        if data_type == "numeric" and precision and scale is not None:
            kind = pa.decimal128(precision, scale)
        elif data_type == "numeric":
            kind, column = pa.float64(), f"cast({column} as double precision)"
        elif data_type in _ARROW:
            kind = _ARROW[data_type]
        else:
            kind, column = pa.string(), f"cast({column} as text)"
        fields.append(pa.field(name, kind))
        select.append(column)
    arrow_schema = pa.schema(fields)
    relation = '"' + schema.replace('"', '""') + '"."' + table.replace('"', '""') + '"'
    with conn.cursor(name=f"citydata_export_{abs(hash((schema, table)))}") as cur:
        cur.itersize = COPY_ROWS
        cur.execute(f"select {', '.join(select)} from {relation}")
        empty = True
        while rows := cur.fetchmany(COPY_ROWS):
            empty = False
            columns = list(zip(*rows))
            yield pa.RecordBatch.from_arrays([pa.array(c, type=f.type) for c, f in zip(columns, fields)],
                                             schema=arrow_schema)
        if empty:
            yield pa.RecordBatch.from_arrays([pa.array([], type=f.type) for f in fields], schema=arrow_schema)
