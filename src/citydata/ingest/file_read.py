"""File drops: a dropped CSV or XLSX file's bytes → numbered records, with encoding detection.

Encoding (``files.encoding: auto``): a BOM decides (UTF-8, UTF-16); else strict UTF-8; else
charset-normalizer, preferring GB18030 whenever a GB codec is a candidate (GB2312 and GBK are
subsets of GB18030, so their exports are decoded as gb18030). CSV lines are decoded one by one, so
a line with bytes invalid in the file's encoding becomes a rejected record instead of failing the
file. XLSX: the first sheet, cell values as openpyxl reads them (dates as ``datetime``).
Line numbers are physical lines (CSV) or sheet rows (XLSX), 1-based.
"""

from __future__ import annotations

import codecs
import csv
import io
from dataclasses import dataclass

from charset_normalizer import from_bytes

GB_FAMILY = {"gb2312", "gbk", "gb18030", "cp936", "hz", "euc_cn"}
_ZIP, _OLE = b"PK\x03\x04", b"\xd0\xcf\x11\xe0"


class FileError(Exception):
    """The whole file cannot be read; the message is the one-line reason."""


@dataclass
class Record:
    line: int  # first physical line (CSV) or sheet row (XLSX), 1-based
    cells: list[object]
    original: str  # the line(s) as text, for the rejects file and the dead letter
    end_line: int = 0
    error: str | None = None  # set when the record cannot be used at all (undecodable bytes, CSV syntax)


def canonical_encoding(name: str) -> str:
    try:
        codec = codecs.lookup(name).name
    except LookupError:
        raise FileError(f"unknown encoding {name!r} in files.encoding: use auto or a codec such as gb18030") from None
    return "gb18030" if codec.replace("-", "_") in GB_FAMILY else codec


def detect_encoding(data: bytes) -> str:
    if data.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    try:
        data.decode("utf-8")
        return "utf-8"
    except UnicodeDecodeError:
        pass
    matches = from_bytes(data)
    if any(m.encoding in GB_FAMILY for m in matches):
        return "gb18030"
    if matches.best() is not None:
        return canonical_encoding(matches.best().encoding)
    # nothing decodes every byte: take the codec under which the fewest lines are broken
    lines = _split_lines(data)
    bad = {enc: sum(1 for raw in lines if not _decodes(raw, enc)) for enc in ("gb18030", "utf-8")}
    enc = min(bad, key=lambda e: bad[e])
    if bad[enc] * 2 >= len(lines):
        raise FileError("cannot tell the file's encoding (neither GB18030 nor UTF-8 fits): "
                        "set files.encoding to the export's codec or re-export as UTF-8")
    return enc


def _decodes(raw: bytes, encoding: str) -> bool:
    try:
        raw.decode(encoding)
        return True
    except UnicodeDecodeError:
        return False


def _split_lines(data: bytes) -> list[bytes]:
    parts = data.split(b"\n")
    lines = [p + b"\n" for p in parts[:-1]]
    if parts[-1]:
        lines.append(parts[-1])
    return lines


def _decode_lines(data: bytes, encoding: str) -> tuple[list[str], dict[int, str]]:
    """Physical lines as text, and {1-based line number: why} for lines not valid in ``encoding``."""
    if encoding.startswith("utf-16"):
        try:
            return data.decode(encoding).splitlines(keepends=True), {}
        except UnicodeDecodeError as exc:
            raise FileError(f"not valid {encoding}: {exc.reason} at byte {exc.start}") from None
    if encoding == "utf-8-sig":
        data, encoding = data.removeprefix(codecs.BOM_UTF8), "utf-8"
    texts: list[str] = []
    bad: dict[int, str] = {}
    for n, raw in enumerate(_split_lines(data), start=1):
        try:
            texts.append(raw.decode(encoding))
        except UnicodeDecodeError as exc:  # keep the line (with U+FFFD); the record using it is rejected
            texts.append(raw.decode(encoding, errors="replace"))
            bad[n] = f"bytes {raw[exc.start:exc.end].hex(' ')} at byte {exc.start + 1} are not valid {encoding}"
    return texts, bad


def read_csv(data: bytes, encoding: str, delimiter: str) -> list[Record]:
    texts, bad = _decode_lines(data, encoding)
    reader = csv.reader(iter(texts), delimiter=delimiter)
    records: list[Record] = []
    prev = 0
    while True:
        try:
            cells = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            start = prev + 1
            records.append(Record(start, [], "".join(texts[start - 1:]).rstrip("\r\n"), len(texts),
                                  error=f"CSV syntax error from line {start} to the end: {exc}"))
            break
        start, end = prev + 1, reader.line_num
        prev = end
        broken = [n for n in range(start, end + 1) if n in bad]
        if not broken and not any(c.strip() for c in cells):
            continue  # blank line
        original = "".join(texts[start - 1:end]).rstrip("\r\n")
        error = f"line {broken[0]}: {bad[broken[0]]}" if broken else None
        records.append(Record(start, list(cells), original, end, error))
    return records


def read_xlsx(data: bytes) -> list[Record]:
    import openpyxl  # imported here: CSV-only deployments never pay for it

    try:
        wb = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many kinds for a damaged workbook
        raise FileError(f"not a readable XLSX workbook: {type(exc).__name__}: {exc}") from None
    try:
        ws = wb.worksheets[0]
        records = []
        for n, row in enumerate(ws.iter_rows(min_row=1, values_only=True), start=1):
            cells = list(row)
            while cells and (cells[-1] is None or (isinstance(cells[-1], str) and not cells[-1].strip())):
                cells.pop()
            if not cells:
                continue
            out = io.StringIO()
            csv.writer(out, lineterminator="").writerow(["" if c is None else c for c in cells])
            records.append(Record(n, cells, out.getvalue(), n))
        return records
    finally:
        wb.close()


def read_records(data: bytes, encoding_setting: str, delimiter: str) -> tuple[str, list[Record]]:
    """(encoding used, records). XLSX/XLS are recognised by content, not by file name."""
    if data.startswith(_ZIP):
        return "xlsx", read_xlsx(data)
    if data.startswith(_OLE):
        raise FileError("old binary Excel (.xls) is not supported: save it as .xlsx or CSV")
    if not data.strip():
        raise FileError("the file is empty")
    encoding = detect_encoding(data) if encoding_setting == "auto" else canonical_encoding(encoding_setting)
    return encoding, read_csv(data, encoding, delimiter)
