"""File drops: header mapping and cell values → the database connectors' representation.

Values are text, except integers (``bigint``/``integer``/``smallint`` → int), floats (``real``/
``double precision`` → float) and booleans, like :func:`citydata.ingest.pgoutput.convert_value`.
Dates become ``YYYY-MM-DD`` whether the export wrote ``2020/1/2``, ``2020年1月2日``, ``2020.1.2``,
``20200102`` or an Excel date cell; timestamps become ``YYYY-MM-DD HH:MM:SS`` (``timestamptz``
values without an offset get the exporting bureau's ``+08``). Empty cells are null; surrounding
whitespace (full-width too) and Excel's ``="0123"`` text guard are removed.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from citydata.ingest.config import Table

EXPORT_UTC_OFFSET = "+08"  # timestamptz cells without an offset: China Standard Time
_SPACE = " \t\r\n\u3000\u00a0\ufeff\u200b"
_INT_TYPES = ("bigint", "integer", "int", "int2", "int4", "int8", "smallint", "bigserial", "serial")
_FLOAT_TYPES = ("real", "double precision", "float4", "float8", "float")
_DATE = re.compile(r"^(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?$|^(\d{4})(\d{2})(\d{2})$")
_TIME = re.compile(r"^(\d{1,2})[:时](\d{1,2})(?:[:分](\d{1,2})(?:\.(\d+))?秒?)?\s*([+-]\d{2}(?::?\d{2})?|Z)?$")
_INT = re.compile(r"^[+-]?\d+(?:\.0*)?$")
_BOOLS = {"true": True, "t": True, "1": True, "yes": True, "y": True, "是": True, "真": True,
          "false": False, "f": False, "0": False, "no": False, "n": False, "否": False, "假": False}
_VARCHAR = re.compile(r"^(?:varchar|character varying|char|character)\s*\((\d+)\)$")


class CellError(ValueError):
    """A cell that cannot be represented as its declared type; the message is the reject reason."""


def clean_header(text: object) -> str:
    return "" if text is None else str(text).strip(_SPACE)


@dataclass
class ColumnSpec:
    name: str
    type: str  # declared type, lower case; "" if undeclared (text)

    @property
    def kind(self) -> str:
        t = self.type.split("(")[0].strip()
        if t in _INT_TYPES:
            return "int"
        if t in _FLOAT_TYPES:
            return "float"
        if t in ("boolean", "bool"):
            return "bool"
        if t == "date":
            return "date"
        if t.startswith("timestamp"):
            return "timestamptz" if "tz" in t or "with time zone" in t else "timestamp"
        return "text"

    @property
    def max_length(self) -> int | None:
        m = _VARCHAR.match(self.type)
        return int(m.group(1)) if m else None


def declared_columns(table: Table) -> list[ColumnSpec]:
    """Declared columns in order; a table without ``columns`` declares its key and mapped names."""
    if table.columns:
        return [ColumnSpec(n, c.type.strip().lower()) for n, c in table.columns.items()]
    names = list(dict.fromkeys([*table.primary_key, *table.header_map.values()]))
    return [ColumnSpec(n, "") for n in names]


def map_headers(headers: list[str], table: Table) -> tuple[dict[int, str], list[str], list[str]]:
    """Header cells → {field index: column}, unknown headers, problems (two headers for one column)."""
    by_header = {clean_header(k): v for k, v in table.header_map.items()}
    declared = {c.name.lower(): c.name for c in declared_columns(table)}
    mapping: dict[int, str] = {}
    unknown: list[str] = []
    problems: list[str] = []
    for i, raw in enumerate(headers):
        h = clean_header(raw)
        if not h:
            continue
        col = by_header.get(h) or declared.get(h.lower())
        if col is None or col.lower() not in declared:  # header_map target not declared: unknown too
            unknown.append(h)
        elif col in mapping.values():
            first = headers[next(j for j, c in mapping.items() if c == col)]
            problems.append(f"headers {clean_header(first)!r} and {h!r} both map to column {col!r}")
        else:
            mapping[i] = col
    return mapping, unknown, problems


def header_score(cells: list[object], table: Table) -> int:
    """How many cells of a row look like this table's headers (to skip title rows above them)."""
    mapping, _, _ = map_headers([clean_header(c) for c in cells], table)
    return len(mapping)


def _date(text: str) -> str:
    m = _DATE.match(text)
    if not m:
        raise CellError("is not a date (expected e.g. 2020-01-02, 2020/1/2 or 2020年1月2日)")
    y, mo, d = (int(g) for g in (m.group(1, 2, 3) if m.group(1) else m.group(4, 5, 6)))
    try:
        return dt.date(y, mo, d).isoformat()
    except ValueError as exc:
        raise CellError(f"is not a valid date ({exc})") from None


def _timestamp(text: str, with_tz: bool) -> str:
    text = text.replace("T", " ", 1)
    day, _, clock = text.partition(" ")
    date = _date(day.strip())
    clock = clock.strip() or "0:00:00"
    m = _TIME.match(clock)
    if not m:
        raise CellError("is not a timestamp (expected e.g. 2020-01-02 08:30:00)")
    h, mi, s = int(m.group(1)), int(m.group(2)), int(m.group(3) or 0)
    if h > 23 or mi > 59 or s > 59:
        raise CellError("is not a valid time of day")
    out = f"{date} {h:02d}:{mi:02d}:{s:02d}" + (f".{m.group(4)}" if m.group(4) else "")
    offset = m.group(5)
    if offset == "Z":
        offset = "+00"
    if with_tz:
        out += offset or EXPORT_UTC_OFFSET
    return out


def _from_native(value: object, col: ColumnSpec) -> object:
    """An XLSX cell's Python value (datetime, number, bool) → text or typed value."""
    kind = col.kind
    if isinstance(value, bool):
        return value if kind == "bool" else ("true" if value else "false")
    if isinstance(value, dt.datetime):
        if kind == "date":
            return value.date().isoformat()
        text = value.isoformat(sep=" ")
        return text + (EXPORT_UTC_OFFSET if kind == "timestamptz" and value.tzinfo is None else "")
    if isinstance(value, dt.date):
        return value.isoformat() + (" 00:00:00" if kind.startswith("timestamp") else "")
    if isinstance(value, (int, float)):
        if kind in ("date", "timestamp", "timestamptz"):
            from openpyxl.utils.datetime import from_excel  # a date cell formatted as a number
            return _from_native(from_excel(value), col)
        if isinstance(value, float) and value.is_integer():
            if abs(value) >= 2**53:
                raise CellError("is a number too long for Excel to keep exactly: store the column as text")
            value = int(value)
        if kind == "float":
            return float(value)
        if kind == "int":
            if isinstance(value, float):
                raise CellError("is not an integer")
            return value
        return str(value)
    if isinstance(value, dt.time):
        return value.isoformat()
    return None


def convert(value: object, col: ColumnSpec) -> object:
    """One cell → its landed value; raises :class:`CellError` with the reason."""
    if value is None:
        return None
    if not isinstance(value, str):
        return _from_native(value, col)
    text = value.strip(_SPACE)
    if text.startswith('="') and text.endswith('"'):
        text = text[2:-1].strip(_SPACE)
    if not text:
        return None
    kind = col.kind
    if kind == "int":
        if not _INT.match(text):
            raise CellError("is not an integer")
        return int(text.split(".")[0])
    if kind == "float":
        try:
            return float(text.replace(",", ""))
        except ValueError:
            raise CellError("is not a number") from None
    if kind == "bool":
        if text.lower() not in _BOOLS:
            raise CellError("is not a boolean (true/false, 是/否, 1/0)")
        return _BOOLS[text.lower()]
    if kind == "date":
        return _date(text.split(" ")[0] if " " in text and ":" in text else text)
    if kind in ("timestamp", "timestamptz"):
        return _timestamp(text, kind == "timestamptz")
    limit = col.max_length
    if limit is not None and len(text) > limit:
        raise CellError(f"has {len(text)} characters, more than {col.type} allows")
    return text
