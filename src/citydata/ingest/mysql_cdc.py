"""MySQL/MariaDB change data capture: a consistent snapshot, then the row-based binlog.

The snapshot reads all declared tables in one consistent-snapshot transaction at an exact binlog position
(MariaDB: ``binlog_snapshot_file/position``; MySQL: under ``FLUSH TABLES WITH READ LOCK``); the stream starts
there: no gap, no overlap. The offset (end of the last complete transaction) is saved only after Kafka
acknowledged everything before it. Values print as the PostgreSQL connector's do: integers, floats and booleans
(``tinyint(1)``/``bit(1)``) typed, the rest as text; a snapshot and the stream print a row identically.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import struct
import threading
import time
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal

import pymysql
import pymysql.cursors
from pymysqlreplication import BinLogStreamReader
from pymysqlreplication.event import GtidEvent, MariadbGtidEvent, QueryEvent, XidEvent
from pymysqlreplication.row_event import DeleteRowsEvent, UpdateRowsEvent, WriteRowsEvent

from citydata import __version__
from citydata.errors import CityDataError
from citydata.ingest.config import ConnectorConfig, Table
from citydata.ingest.envelope import make_envelope
from citydata.ingest.offsets import OffsetStore
from citydata.ingest.producer import EventProducer
from citydata.services.mariadb import MariaDBServer

FLUSH_EVERY = 5000
Kind = tuple[str, object]  # how a column prints: ("bool"|"bit"|"float"|"set"|"ts"|"dt"|"json"|"", argument)
Position = tuple[str, int]  # (binlog file, position)
_PLAIN_KINDS = {"float": "float", "timestamp": "ts", "datetime": "dt", "date": "dt", "json": "json"}
ROW_EVENTS = (WriteRowsEvent, UpdateRowsEvent, DeleteRowsEvent)
IN_TX_QUERIES = ("BEGIN", "XA START", "SAVEPOINT", "ROLLBACK TO", "XA END")  # other Query events end a transaction


def binlog_order(file: str, pos: int) -> tuple[int, int]:
    """(file number, position): compares binlog coordinates across file rotations."""
    return int(file.rsplit(".", 1)[-1]), int(pos)


def _f32(v: float) -> float:  # FLOAT columns: the shortest decimal that is the same single-precision float
    packed = struct.pack("<f", v)
    return next((c for c in (float(f"{v:.{d}g}") for d in range(1, 10)) if struct.pack("<f", c) == packed), v)


def _plain(v: object) -> object:  # MySQL binary JSON from the binlog decoder carries bytes
    if isinstance(v, dict):
        return {_plain(k): _plain(x) for k, x in v.items()}
    return [_plain(x) for x in v] if isinstance(v, list) else v.decode() if isinstance(v, bytes) else v


def convert_value(value: object, kind: Kind = ("", None)) -> object:
    """A MySQL value (from pymysql or the binlog decoder) → the JSON value the PostgreSQL connector emits."""
    name, arg = kind
    if value is None:
        return None
    if name == "bool":  # BIT(1) arrives as "1"/"0" from the binlog decoder, as bytes from pymysql
        return any(value) if isinstance(value, bytes) else (value.strip("0") != "" if isinstance(value, str)
                                                             else bool(value))
    if name == "bit":
        return format(int.from_bytes(value, "big"), f"0{arg}b") if isinstance(value, bytes) else str(value)
    if name == "float":
        return _f32(float(value))
    if name == "set":  # declared order; the binlog decoder cannot tell '' from NULL, so '' is NULL
        items = value if isinstance(value, set) else set(str(value).split(","))
        return ",".join(v for v in arg if v in items) or None
    if name == "json" or isinstance(value, (dict, list)):
        return json.dumps(json.loads(value) if isinstance(value, (str, bytes)) else _plain(value), ensure_ascii=False)
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, dt.datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S.%f").rstrip("0").rstrip(".") + ("+00" if name == "ts" else "")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, dt.timedelta):
        us = (value.days * 86400 + value.seconds) * 1_000_000 + value.microseconds
        secs, frac = divmod(abs(us), 1_000_000)
        text = f"{'-' if us < 0 else ''}{secs // 3600:02d}:{secs // 60 % 60:02d}:{secs % 60:02d}.{frac:06d}"
        return text.rstrip("0").rstrip(".")
    if isinstance(value, (bytes, bytearray)):
        try:
            return bytes(value).decode("utf-8")
        except UnicodeDecodeError:
            return "\\x" + bytes(value).hex()
    if isinstance(value, str) and name in ("dt", "ts") and value.startswith("0000-00-00"):
        return None  # zero dates: the binlog decoder gives None, pymysql the text
    return value if isinstance(value, (str, bool, int, float)) else str(value)


def _kind(data_type: str, column_type: str) -> Kind:
    data_type, column_type = data_type.lower(), column_type.lower()
    if column_type.startswith("tinyint(1)") or column_type == "bit(1)":
        return "bool", None
    if data_type == "bit":
        return "bit", int(re.search(r"\d+", column_type).group())
    if data_type == "set":
        return "set", tuple(v.replace("''", "'") for v in re.findall(r"'((?:[^']|'')*)'", column_type))
    return _PLAIN_KINDS.get(data_type, ""), None


@dataclass
class _Tx:  # stream state: the end of the last complete transaction, the open transaction's GTID
    committed: Position
    gtid: str | None = None
    tx_gtid: str | None = None
    tx_id: int | None = None
    open: bool = False
    unflushed: int = 0


@dataclass
class CdcStats:
    snapshot_rows: int = 0
    stream_events: int = 0
    transactions: int = 0
    last_position: Position | None = None


class MySqlCDC:
    def __init__(self, cfg: ConnectorConfig, server: MariaDBServer, producer: EventProducer, offsets: OffsetStore):
        self.cfg, self.producer, self.offsets, self.stats = cfg, producer, offsets, CdcStats()
        conn_cfg = cfg.connection
        self.server = server.with_secret(conn_cfg.password_env if conn_cfg else None, f"connector {cfg.name}")
        self.server_id = (conn_cfg and conn_cfg.server_id) or 1000 + zlib.crc32(cfg.name.encode()) % 10**9  # ours
        self._tables = {(t.schema_, t.name): t for t in cfg.tables}
        self._kinds: dict[tuple[str, str], list[tuple[str, Kind]]] = {}
        self._origin_id = 0  # the source's @@server_id
        self._on_event: Callable[[int], None] | None = None

    def _check_server(self) -> bool:
        """Binlog on in ROW format with FULL images; (re)read declared tables' column types. True for MariaDB."""
        with self.server.connect() as conn, conn.cursor() as cur:
            cur.execute("SELECT @@log_bin, @@binlog_format, @@binlog_row_image, VERSION(), @@server_id")
            log_bin, fmt, image, version, self._origin_id = cur.fetchone()
            if not int(log_bin) or str(fmt).upper() != "ROW" or str(image).upper() != "FULL":
                raise CityDataError(f"connector {self.cfg.name}: the source needs log_bin=ON, binlog_format=ROW, "
                                    f"binlog_row_image=FULL (has {log_bin}, {fmt}, {image}): change the server config")
            for t in self.cfg.tables:
                cur.execute("SELECT column_name, data_type, column_type FROM information_schema.columns WHERE "
                            "table_schema = %s AND table_name = %s ORDER BY ordinal_position", (t.schema_, t.name))
                if not (kinds := [(str(n), _kind(str(d), str(c))) for n, d, c in cur.fetchall()]):
                    raise CityDataError(f"connector {self.cfg.name}: table {t.schema_}.{t.name} does not exist: "
                                        f"fix connectors/{self.cfg.name}.yaml or the source")
                self._kinds[(t.schema_, t.name)] = kinds
        return "mariadb" in str(version).lower()

    def _source(self, table: Table, pos: Position, row: int, ts_ms: int, server_id: int, gtid: str | None,
                tx_id: int | None, snapshot: str = "false") -> dict:
        return {"version": __version__, "connector": "mysql", "name": self.cfg.name, "db": table.schema_,
                "table": table.name, "server_id": server_id, "gtid": gtid, "file": pos[0], "pos": pos[1],
                "row": row, "ts_ms": ts_ms, "snapshot": snapshot, "txId": tx_id}

    def snapshot(self) -> int:
        """Emit every existing row as an ``r`` event at one binlog position. No-op once done."""
        if self.offsets.load(self.cfg.name).get("snapshot_done"):
            return 0
        mariadb = self._check_server()
        try:
            with self.server.connect() as conn, conn.cursor() as cur:
                cur.execute("SET SESSION TRANSACTION ISOLATION LEVEL REPEATABLE READ")
                cur.execute("SET time_zone = '+00:00'")
                if not mariadb:  # MySQL: hold writes while the snapshot and its position are taken
                    cur.execute("FLUSH TABLES WITH READ LOCK")
                cur.execute("START TRANSACTION WITH CONSISTENT SNAPSHOT, READ ONLY")
                if mariadb:  # the snapshot's own binlog coordinates, no global lock
                    cur.execute("SHOW STATUS LIKE 'binlog_snapshot_%'")
                    status = {k.lower(): v for k, v in cur.fetchall()}
                    pos = (status["binlog_snapshot_file"], int(status["binlog_snapshot_position"]))
                    cur.execute("SELECT BINLOG_GTID_POS(%s, %s)", pos)
                    gtid = cur.fetchone()[0] or None
                else:
                    cur.execute("SHOW MASTER STATUS")
                    file, position, _, _, gtid = (*cur.fetchone(), None)[:5]
                    pos, gtid = (file, int(position)), gtid or None
                    cur.execute("UNLOCK TABLES")
                rows = self._read_snapshot(conn, pos, gtid) if self.cfg.snapshot_mode == "initial" else 0
                conn.commit()
        except pymysql.err.MySQLError as exc:
            raise CityDataError(f"connector {self.cfg.name}: snapshot failed: "
                                f"{exc.args[-1] if exc.args else exc}") from None
        self._ack(_Tx(pos, gtid))
        self.stats.snapshot_rows += rows
        return rows

    def _read_snapshot(self, conn: pymysql.connections.Connection, pos: Position, gtid: str | None) -> int:
        total, ts_ms = 0, int(time.time() * 1000)
        for table in self.cfg.tables:
            cols = self._kinds[(table.schema_, table.name)]
            select = ", ".join(f"(`{c}` + 0e0)" if k[0] == "float" else f"`{c}`" for c, k in cols)  # exact FLOATs
            with conn.cursor(pymysql.cursors.SSCursor) as cur:
                cur.execute(f"SELECT {select} FROM `{table.schema_}`.`{table.name}`")
                for values in cur:
                    row = {c: convert_value(v, k) for (c, k), v in zip(cols, values)}
                    src = self._source(table, pos, total, ts_ms, self._origin_id, gtid, None, snapshot="true")
                    self.producer.send(self.cfg.topic(table), row, table.primary_key,
                                       make_envelope("r", None, row, src))
                    total += 1
                    if total % FLUSH_EVERY == 0:
                        self.producer.flush()
        return total

    def stream(self, until: Callable[[], Position | None], stop: threading.Event | None = None,
               on_event: Callable[[int], None] | None = None, timeout_s: float = 300.0) -> int:
        """Stream binlog changes up to ``until()`` (a (file, pos); None while the caller still expects changes)."""
        offset = self.offsets.load(self.cfg.name)
        if not offset.get("snapshot_done") or "file" not in offset:
            raise CityDataError(f"connector {self.cfg.name}: no binlog position yet: run the snapshot first")
        self._check_server()
        reader = BinLogStreamReader(  # non-blocking: each poll reads to the end of the binlog, then returns None
            connection_settings=self.server.settings(), server_id=self.server_id, resume_stream=True,
            log_file=offset["file"], log_pos=int(offset["pos"]), blocking=False,
            only_events=[*ROW_EVENTS, XidEvent, QueryEvent, MariadbGtidEvent, GtidEvent],
            only_schemas=sorted({t.schema_ for t in self.cfg.tables}),
            only_tables=sorted({t.name for t in self.cfg.tables}), use_column_name_cache=True, enable_logging=False)
        tx = _Tx(committed=(offset["file"], int(offset["pos"])), gtid=offset.get("gtid"))
        acked, start, deadline = tx.committed, self.stats.stream_events, time.monotonic() + timeout_s
        self._on_event = on_event
        try:
            while True:
                ev = reader.fetchone()
                if ev is not None:
                    self._handle(ev, reader, tx)
                    if tx.unflushed >= FLUSH_EVERY and not tx.open:
                        acked = self._ack(tx)
                    continue
                if not tx.open:  # the end of the binlog is a transaction boundary: skipped events count as seen
                    tx.committed = max(tx.committed, (reader.log_file, reader.log_pos), key=lambda p: binlog_order(*p))
                if binlog_order(*tx.committed) > binlog_order(*acked):
                    acked = self._ack(tx)
                target = until()
                reached = target is not None and binlog_order(*tx.committed) >= binlog_order(*target)
                if reached or (stop is not None and stop.is_set()):
                    break
                if time.monotonic() > deadline:
                    raise CityDataError(f"connector {self.cfg.name}: stream did not reach "
                                        f"{':'.join(map(str, target or ('?',)))} within {timeout_s:.0f}s")
                time.sleep(0.1)
        except pymysql.err.MySQLError as exc:
            raise CityDataError(f"connector {self.cfg.name}: binlog stream from {tx.committed[0]}:{tx.committed[1]} "
                                f"failed: {exc.args[-1] if exc.args else exc}") from None
        finally:
            reader.close()
        return self.stats.stream_events - start

    def _handle(self, ev: object, reader: BinLogStreamReader, tx: _Tx) -> None:  # boundaries; row events out
        if isinstance(ev, (MariadbGtidEvent, GtidEvent)):
            tx.open, tx.tx_gtid = True, ev.gtid
            tx.tx_id = ev.gtid_seq_no if isinstance(ev, MariadbGtidEvent) else ev.gno
        elif isinstance(ev, ROW_EVENTS):
            self._emit(ev, reader.log_file, tx)
        elif isinstance(ev, QueryEvent) and ev.query.strip().upper().startswith(IN_TX_QUERIES):
            tx.open = True
        elif isinstance(ev, (XidEvent, QueryEvent)):  # COMMIT, ROLLBACK or DDL (its own transaction)
            text = ev.query.lower() if isinstance(ev, QueryEvent) else "commit"
            if text.strip() not in ("commit", "rollback") and any(t.name in text for t in self.cfg.tables):
                self._check_server()  # a schema change: re-read column types (names come from the binlog itself)
            tx.open, tx.gtid, tx.committed = False, tx.tx_gtid or tx.gtid, (reader.log_file, reader.log_pos)
            self.stats.transactions += 1

    def _emit(self, ev: WriteRowsEvent | UpdateRowsEvent | DeleteRowsEvent, file: str, tx: _Tx) -> None:
        table = self._tables.get((ev.schema, ev.table))
        if table is None:
            return
        kinds = dict(self._kinds.get((table.schema_, table.name), []))
        op = "c" if isinstance(ev, WriteRowsEvent) else "u" if isinstance(ev, UpdateRowsEvent) else "d"
        for i, change in enumerate(ev.rows):
            images = (change.get("before_values", change.get("values") if op == "d" else None),
                      change.get("after_values", change.get("values") if op == "c" else None))
            before, after = ({c: convert_value(v, kinds.get(c, ("", None))) for c, v in image.items()}
                             if image is not None else None for image in images)
            row = after if after is not None else before
            if None in row:
                raise CityDataError(f"connector {self.cfg.name}: the binlog has no column names for "
                                    f"{table.schema_}.{table.name}: set binlog_row_metadata=FULL on the source")
            src = self._source(table, (file, ev.packet.log_pos), i, ev.timestamp * 1000, ev.packet.server_id,
                               tx.tx_gtid, tx.tx_id)
            self.producer.send(self.cfg.topic(table), row, table.primary_key, make_envelope(op, before, after, src))
        tx.unflushed += len(ev.rows)
        self.stats.stream_events += len(ev.rows)
        if self._on_event:
            self._on_event(len(ev.rows))

    def _ack(self, tx: _Tx) -> Position:  # flush to Kafka, then store the end of the last complete transaction
        self.producer.flush()
        self.offsets.save(self.cfg.name, {"file": tx.committed[0], "pos": tx.committed[1], "gtid": tx.gtid,
                                          "snapshot_done": True})
        self.stats.last_position, tx.unflushed = tx.committed, 0
        return tx.committed
