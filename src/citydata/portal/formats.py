"""Released rows as files and JSON: CSV (UTF-8 with a BOM, so Excel reads Chinese), JSON records
(ISO dates) and Parquet (pyarrow), the field types the APIs report, and download headers.

The serving copy hands DuckDB ``DATE`` columns to pandas as timestamps; :func:`typed` turns the
ones the catalog calls ``DATE`` back into dates, so a birth date is ``1971-05-10`` everywhere, not
``1971-05-10T00:00:00``. Masked columns arrive as text and stay text.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import math
from decimal import Decimal
from typing import Any
from urllib.parse import quote

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

FORMATS: dict[str, str] = {
    "csv": "text/csv; charset=utf-8",
    "json": "application/json",
    "parquet": "application/vnd.apache.parquet",
}


def catalog_types(entity: dict[str, Any]) -> dict[str, str]:
    """Column → the catalog's data type (``VARCHAR``, ``DATE``, …)."""
    return {c["name"]: str(c.get("dataType") or "").upper() for c in entity.get("columns") or []}


def typed(frame: pd.DataFrame, entity: dict[str, Any]) -> pd.DataFrame:
    """``frame`` with the catalog's ``DATE`` columns as dates (only those still holding timestamps)."""
    types = catalog_types(entity)
    dates = [c for c in frame.columns if types.get(c) == "DATE" and pd.api.types.is_datetime64_any_dtype(frame[c])]
    if not dates:
        return frame
    out = frame.copy()
    for column in dates:
        values = out[column]
        out[column] = pd.Series([None if pd.isna(v) else v.date() for v in values], index=out.index, dtype=object)
    return out


def _plain(value: Any) -> Any:
    """A JSON value: ISO text for dates and times, numbers for decimals, null for NaN/NaT."""
    if value is None:
        return None
    if isinstance(value, float):
        return None if math.isnan(value) else value
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, bytes):
        return value.hex()
    return value


def records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """Rows as JSON-ready dicts (through Arrow, so NaN/NaT are null and dates stay dates)."""
    table = pa.Table.from_pandas(frame, preserve_index=False)
    return [{k: _plain(v) for k, v in row.items()} for row in table.to_pylist()]


_ARROW_TYPES = (
    (pa.types.is_boolean, "bool"), (pa.types.is_integer, "int"), (pa.types.is_floating, "numeric"),
    (pa.types.is_decimal, "numeric"), (pa.types.is_date, "date"), (pa.types.is_timestamp, "timestamp"),
    (pa.types.is_time, "time"),
)


def field_types(frame: pd.DataFrame) -> list[dict[str, str]]:
    """``[{"id": column, "type": …}]`` as CKAN's datastore names types (text, int, numeric, bool, date,
    timestamp) — of the released values, so a masked date column is text."""
    schema = pa.Schema.from_pandas(frame, preserve_index=False)
    fields = []
    for f in schema:
        kind = next((name for test, name in _ARROW_TYPES if test(f.type)), "text")
        fields.append({"id": f.name, "type": kind})
    return fields


def encode(frame: pd.DataFrame, fmt: str) -> bytes:
    """The file's bytes: ``csv`` (UTF-8 with BOM), ``json`` (array of records) or ``parquet``."""
    if fmt == "csv":
        buffer = io.BytesIO()
        frame.to_csv(buffer, index=False, encoding="utf-8-sig", lineterminator="\r\n")
        return buffer.getvalue()
    if fmt == "json":
        return json.dumps(records(frame), ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    if fmt == "parquet":
        buffer = io.BytesIO()
        pq.write_table(pa.Table.from_pandas(frame, preserve_index=False), buffer, compression="zstd")
        return buffer.getvalue()
    raise ValueError(f"unknown format {fmt!r}: one of {', '.join(FORMATS)}")


def content_disposition(ascii_name: str, name: str) -> str:
    """``attachment`` with a plain ASCII ``filename`` and the full (Chinese) ``filename*`` of RFC 5987/6266."""
    fallback = "".join(ch if ch.isascii() and ch.isprintable() and ch not in '"\\;' else "_" for ch in ascii_name)
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(name, safe='')}"
