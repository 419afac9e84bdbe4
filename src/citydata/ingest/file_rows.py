"""File drops: numbered records + the table declaration → rows to send and rows to reject.

The header is the first of the first ten records that names the most of the table's columns (title
rows above it are skipped with a warning). A missing primary-key column rejects the whole file; a
missing other column is null in every row, with a warning. Each data record is checked: field count,
primary key present and castable, every value castable to its declared type.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from citydata.ingest.config import Table
from citydata.ingest.file_read import FileError, Record
from citydata.ingest.file_values import CellError, clean_header, convert, declared_columns, header_score, map_headers

HEADER_SEARCH = 10


@dataclass
class Shaped:
    rows: list[tuple[int, dict]] = field(default_factory=list)  # (line, row) in file order
    rejects: list[tuple[Record, str]] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    unknown_headers: list[str] = field(default_factory=list)
    header_line: int = 1


def _find_header(records: list[Record], table: Table) -> int:
    candidates = [i for i, r in enumerate(records[:HEADER_SEARCH]) if r.error is None]
    scores = {i: header_score(records[i].cells, table) for i in candidates}
    best = max(scores.values(), default=0)
    return next(i for i in candidates if scores[i] == best) if best else 0


def shape(records: list[Record], table: Table, *, connector: str, lenient_width: bool) -> Shaped:
    """``lenient_width``: XLSX rows may be shorter than the header (trailing empty cells are not stored)."""
    if not records:
        raise FileError("the file has no header row and no data")
    h = _find_header(records, table)
    header = records[h]
    if header.error:
        raise FileError(f"header {header.error}: set files.encoding for connector {connector} or re-export")
    out = Shaped(header_line=header.line)
    if h:
        out.warnings.append(f"skipped {h} line(s) above the header on line {header.line}")
    headers = [clean_header(c) for c in header.cells]
    mapping, out.unknown_headers, problems = map_headers(headers, table)
    if problems:
        raise FileError(f"{problems[0]}: fix header_map of table {table.name} in connector {connector}")
    present = set(mapping.values())
    reverse = {v: k for k, v in table.header_map.items()}
    for key in table.primary_key:
        if key not in present:
            expected = f"{reverse[key]!r} or {key!r}" if key in reverse else repr(key)
            raise FileError(f"primary key column {key!r} missing (expected header {expected}; found {headers}): "
                            f"add it to the export or map its header in header_map of table {table.name}")
    cols = declared_columns(table)
    for c in cols:
        if c.name not in present:
            out.warnings.append(f"column {c.name!r} (header {reverse.get(c.name, c.name)!r}) is not in the file: "
                                f"null in every row")
    if out.unknown_headers:
        out.warnings.append(f"headers not declared for table {table.name}, ignored: {out.unknown_headers}")
    width = max(i for i, hd in enumerate(headers) if hd) + 1
    specs = {c.name: c for c in cols}
    for rec in records[h + 1:]:
        reason = rec.error or _width_problem(rec.cells, width, len(headers), lenient_width)
        if reason is None:
            row, reason = _convert_row(rec.cells, mapping, specs, table.primary_key)
        if reason:
            out.rejects.append((rec, reason))
        else:
            out.rows.append((rec.line, row))
    keys = Counter(tuple(row[k] for k in table.primary_key) for _, row in out.rows)
    repeated = sum(1 for n in keys.values() if n > 1)
    if repeated:
        out.warnings.append(f"{repeated} primary key(s) appear on more than one line: the last line wins")
    return out


def _width_problem(cells: list[object], width: int, header_width: int, lenient: bool) -> str | None:
    extra = [c for c in cells[header_width:] if c is not None and str(c).strip()]
    if extra:
        return f"{len(cells)} fields but the header has {header_width}"
    if len(cells) < width and not lenient:
        return f"{len(cells)} fields but the header has {header_width}"
    return None


def _convert_row(cells: list[object], mapping: dict[int, str], specs: dict, primary_key: list[str]
                 ) -> tuple[dict, str | None]:
    row: dict = dict.fromkeys(specs)
    problems: list[str] = []
    for i, col in mapping.items():
        value = cells[i] if i < len(cells) else None
        try:
            row[col] = convert(value, specs[col])
        except CellError as exc:
            problems.append(f"{col} {str(value)!r} {exc}")
    for key in primary_key:
        if row.get(key) is None and not any(p.startswith(f"{key} ") for p in problems):
            problems.append(f"primary key {key} is empty")
    return row, "; ".join(problems) or None
