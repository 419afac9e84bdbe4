"""File-drop connector: CSV/XLSX exports dropped into a watched folder → change events on Kafka.

For departments without database access. Each new file in ``files.directory`` is matched to a table
by ``file_pattern``, decoded (:mod:`citydata.ingest.file_read`), mapped and checked row by row
(:mod:`citydata.ingest.file_rows`), and every good row is sent to ``<source>.<schema>.<table>`` as an
``r`` event: a file is an export — a snapshot — of those rows, and Debezium has no file op. Rows
missing from a later export are not deleted. The source position is ``(file_seq, line)``, so a later
file's version of a key supersedes an earlier one, and within a file the last line wins.

Bad rows go to ``<reject_dir>/<file>.rejects.csv`` (line, reason, original line) and to
``<topic>.dlq`` (value: the line as UTF-8 text; headers ``dlq.reason``, ``dlq.origin`` = ``file:line``,
``dlq.topic``, ``dlq.source`` = ``file-drop``: fix and re-drop the file, do not replay these); a file
that cannot be used at all (no table, no key column, unreadable) is moved to ``rejected/`` with a
``.reason.txt`` beside it. Ingested files are moved to ``processed/``.

Exactly-once by content: the offsets store keeps each file's sha256. Before sending, the file is
recorded as *pending* with the ``file_seq`` it was given; only after Kafka acknowledged every event is
it recorded *done*. A crash in between re-sends the file with the same ``file_seq`` and lines, which
the sink's idempotent append ignores; the same content dropped again later (any name) is a duplicate.
"""

from __future__ import annotations

import csv
import fnmatch
import hashlib
import logging
import os
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

from kafka import KafkaProducer
from kafka.errors import KafkaError

from citydata import __version__
from citydata.errors import CityDataError
from citydata.ingest.config import ConnectorConfig, Table
from citydata.ingest.envelope import make_envelope
from citydata.ingest.file_read import FileError, read_records
from citydata.ingest.file_rows import shape
from citydata.ingest.offsets import OffsetStore
from citydata.ingest.producer import EventProducer
from citydata.settings import PROJECT_ROOT

log = logging.getLogger(__name__)
FLUSH_EVERY = 5000
IN_PROGRESS = (".tmp", ".part", ".partial", ".crdownload", ".filepart")


@dataclass
class RowReject:
    line: int
    reason: str


@dataclass
class FileReport:
    file: str
    status: str  # "ingested" | "duplicate" | "rejected"
    table: str | None = None
    encoding: str | None = None  # codec the CSV was decoded with, or "xlsx"
    sha256: str = ""
    file_seq: int | None = None
    rows_accepted: int = 0
    rows_rejected: list[RowReject] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    unknown_headers: list[str] = field(default_factory=list)
    reason: str | None = None  # why the whole file was rejected
    duplicate_of: str | None = None  # name the same content was first ingested under
    moved_to: str | None = None
    rejects_file: str | None = None

    @property
    def duplicate(self) -> bool:
        return self.status == "duplicate"


@dataclass
class FileDropResult:
    files: list[FileReport] = field(default_factory=list)
    waiting: list[str] = field(default_factory=list)  # still being written (too recent, or a temp name)

    @property
    def rows_accepted(self) -> int:
        return sum(f.rows_accepted for f in self.files)

    @property
    def rows_rejected(self) -> int:
        return sum(len(f.rows_rejected) for f in self.files)

    def to_dict(self) -> dict:
        return asdict(self)


class FileDropConnector:
    def __init__(self, cfg: ConnectorConfig, producer: EventProducer, offsets: OffsetStore, reject_dir: Path,
                 *, dlq: KafkaProducer | None = None, settle_s: float = 2.0):
        """``dlq``: producer for dead letters (default: the event producer's own client);
        ``settle_s``: files modified more recently than this are left for the next scan."""
        if cfg.type != "file" or cfg.files is None:
            raise CityDataError(f"connector {cfg.name} is of type {cfg.type!r}, not a file drop")
        self.cfg, self.producer, self.offsets, self.reject_dir = cfg, producer, offsets, Path(reject_dir)
        directory = Path(cfg.files.directory)
        self.directory = directory if directory.is_absolute() else PROJECT_ROOT / directory
        self._dlq = dlq if dlq is not None else producer._producer  # same acks=all client
        self._dlq_futures: list = []
        self.settle_s = settle_s

    # -- scanning ------------------------------------------------------------------------------
    def scan(self) -> FileDropResult:
        """Process every file now in the drop directory; returns what happened to each."""
        if not self.directory.is_dir():
            raise CityDataError(f"connector {self.cfg.name}: drop directory {self.directory} does not exist: "
                                f"create it or fix files.directory")
        result = FileDropResult()
        files = [p for p in self.directory.iterdir() if p.is_file()]
        now = time.time()
        for path in sorted(files, key=lambda p: (p.stat().st_mtime, p.name)):
            if path.name.startswith((".", "~$")) or path.name.lower().endswith(IN_PROGRESS) \
                    or now - path.stat().st_mtime < self.settle_s:
                result.waiting.append(path.name)
                continue
            report = self._process(path)
            log.info("file drop %s/%s: %s", self.cfg.name, report.file, report.reason or report.status)
            result.files.append(report)
        return result

    def watch(self, stop: threading.Event, interval_s: float = 1.0,
              on_result: Callable[[FileDropResult], None] | None = None) -> None:
        """Scan every ``interval_s`` until ``stop`` is set; ``on_result`` gets each scan that found files."""
        while not stop.is_set():
            result = self.scan()
            if on_result is not None and result.files:
                on_result(result)
            stop.wait(interval_s)

    # -- one file ------------------------------------------------------------------------------
    def _process(self, path: Path) -> FileReport:
        data = path.read_bytes()
        mtime_ms = int(path.stat().st_mtime * 1000)
        report = FileReport(path.name, "ingested", sha256=hashlib.sha256(data).hexdigest())
        state = self.offsets.load(self.cfg.name)
        known = state.get("files", {}).get(report.sha256)
        if known and known["status"] == "done":
            report.status, report.table, report.duplicate_of = "duplicate", known["table"], known["file"]
            report.file_seq = known["file_seq"]
            report.moved_to = str(self._move(path, "processed"))
            return report
        try:
            table = self._match(path.name)
            report.table = table.name
            report.encoding, records = read_records(data, self.cfg.files.encoding, self.cfg.files.delimiter)
            shaped = shape(records, table, connector=self.cfg.name, lenient_width=report.encoding == "xlsx")
        except FileError as exc:
            return self._reject_file(path, report, str(exc))
        except Exception as exc:  # a damaged file must not stop the other files
            return self._reject_file(path, report, f"cannot read: {type(exc).__name__}: {exc}")
        report.warnings, report.unknown_headers = shaped.warnings, shaped.unknown_headers
        if known is None:  # claim a file_seq before sending, so a replay reuses it
            known = {"file": path.name, "table": table.name, "file_seq": state.get("next_file_seq", 1),
                     "status": "pending"}
            state["next_file_seq"] = known["file_seq"] + 1
            state.setdefault("files", {})[report.sha256] = known
            self.offsets.save(self.cfg.name, state)
        report.file_seq = known["file_seq"]
        self._send(table, shaped.rows, known["file"], report, mtime_ms)
        for rec, reason in shaped.rejects:
            report.rows_rejected.append(RowReject(rec.line, reason))
            self._dead_letter(table, known["file"], rec.line, reason, rec.original, report)
        self.producer.flush()
        self._flush_dlq()
        if shaped.rejects:
            report.rejects_file = str(self._write_rejects(path.name, shaped.rejects))
        known.update(status="done", rows=report.rows_accepted, rejected=len(report.rows_rejected),
                     encoding=report.encoding, done_at_ms=int(time.time() * 1000))
        self.offsets.save(self.cfg.name, state)
        report.moved_to = str(self._move(path, "processed"))
        return report

    def _match(self, name: str) -> Table:
        lower = name.lower()
        tables = [t for t in self.cfg.tables if fnmatch.fnmatchcase(lower, (t.file_pattern or "").lower())]
        if len(tables) > 1:
            raise FileError(f"name matches the file_pattern of tables {[t.name for t in tables]}: "
                            f"make the patterns of connector {self.cfg.name} distinct")
        if not tables:
            patterns = [t.file_pattern for t in self.cfg.tables]
            raise FileError(f"name matches no table's file_pattern {patterns}: rename the file "
                            f"or add a table to connector {self.cfg.name}")
        return tables[0]

    def _send(self, table: Table, rows: list[tuple[int, dict]], file_name: str, report: FileReport,
              mtime_ms: int) -> None:
        topic = self.cfg.topic(table)
        base = {"version": __version__, "connector": "file", "name": self.cfg.name, "db": self.cfg.name,
                "schema": table.schema_, "table": table.name, "file": file_name, "file_seq": report.file_seq,
                "sha256": report.sha256, "ts_ms": mtime_ms, "snapshot": "true", "txId": None}
        for n, (line, row) in enumerate(rows, start=1):
            self.producer.send(topic, row, table.primary_key, make_envelope("r", None, row, {**base, "pos": line}))
            if n % FLUSH_EVERY == 0:
                self.producer.flush()
        report.rows_accepted = len(rows)

    def _dead_letter(self, table: Table, file_name: str, line: int, reason: str, original: str,
                     report: FileReport) -> None:
        topic = self.cfg.topic(table)
        origin = f"{file_name}:{line}"
        headers = [("dlq.reason", reason.encode()), ("dlq.origin", origin.encode()), ("dlq.topic", topic.encode()),
                   ("dlq.source", b"file-drop"), ("dlq.sha256", report.sha256.encode())]
        self._dlq_futures.append(self._dlq.send(f"{topic}.dlq", key=origin.encode(), value=original.encode(),
                                                headers=headers))

    def _flush_dlq(self) -> None:
        self._dlq.flush()
        futures, self._dlq_futures = self._dlq_futures, []
        for f in futures:
            try:
                f.get(timeout=30)
            except KafkaError as exc:
                raise CityDataError(f"Kafka did not acknowledge a dead letter: {exc}") from None

    # -- files on disk -------------------------------------------------------------------------
    def _write_rejects(self, name: str, rejects: list) -> Path:
        self.reject_dir.mkdir(parents=True, exist_ok=True)
        path = self.reject_dir / f"{name}.rejects.csv"
        with open(path, "w", encoding="utf-8-sig", newline="") as f:  # BOM: opens right in Excel
            w = csv.writer(f)
            w.writerow(["line", "reason", "original_line"])
            w.writerows([rec.line, reason, rec.original] for rec, reason in rejects)
        return path

    def _reject_file(self, path: Path, report: FileReport, reason: str) -> FileReport:
        report.status, report.reason = "rejected", f"{path.name}: {reason}"
        target = self._move(path, "rejected")
        target.with_name(target.name + ".reason.txt").write_text(report.reason + "\n", encoding="utf-8")
        report.moved_to = str(target)
        return report

    def _move(self, path: Path, sub: str) -> Path:
        folder = self.directory / sub
        folder.mkdir(exist_ok=True)
        target, n = folder / path.name, 0
        while target.exists():
            n += 1
            target = folder / f"{path.stem}.{n}{path.suffix}"
        os.replace(path, target)
        return target
