"""PostgreSQL change data capture: a consistent snapshot, then the logical replication stream.

The replication slot is created with an exported snapshot; the snapshot is read inside that
exact snapshot and the stream starts at the slot's consistent point, so there is no gap and no
overlap. Offsets (the end LSN of the last transaction Kafka acknowledged) are stored durably and
confirmed to the server as standby feedback, so WAL does not pile up.
"""

from __future__ import annotations

import select
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

import psycopg2
import psycopg2.extras

from citydata.errors import CityDataError
from citydata.ingest.config import ConnectorConfig, Table
from citydata.ingest.envelope import make_envelope, pg_source
from citydata.ingest.offsets import OffsetStore
from citydata.ingest.pgoutput import Begin, Change, Commit, PgOutputDecoder, Truncate, convert_value
from citydata.ingest.producer import EventProducer
from citydata.services.postgres import PostgresServer

FLUSH_EVERY = 5000


def parse_lsn(text: str) -> int:
    hi, lo = text.split("/")
    return (int(hi, 16) << 32) + int(lo, 16)


def format_lsn(lsn: int) -> str:
    return f"{lsn >> 32:X}/{lsn & 0xFFFFFFFF:X}"


@dataclass
class CdcStats:
    snapshot_rows: int = 0
    stream_events: int = 0
    transactions: int = 0
    truncates: int = 0
    last_lsn: int = 0


class PostgresCDC:
    def __init__(self, cfg: ConnectorConfig, server: PostgresServer, producer: EventProducer,
                 offsets: OffsetStore):
        self.cfg, self.server, self.producer, self.offsets = cfg, server, producer, offsets
        self.db = cfg.connection.database
        self.stats = CdcStats()
        self._tables = {(t.schema_, t.name): t for t in cfg.tables}

    # -- setup -------------------------------------------------------------------------------
    def ensure_publication(self) -> None:
        conn = self.server.connect(self.db)
        conn.autocommit = True
        tables = ", ".join(f'"{t.schema_}"."{t.name}"' for t in self.cfg.tables)
        with conn.cursor() as cur:
            for t in self.cfg.tables:
                cur.execute("select to_regclass(%s)", (f'"{t.schema_}"."{t.name}"',))
                if cur.fetchone()[0] is None:
                    conn.close()
                    raise CityDataError(f"connector {self.cfg.name}: table {t.schema_}.{t.name} does not exist "
                                        f"in database {self.db}: fix connectors/{self.cfg.name}.yaml or the source")
            cur.execute("select 1 from pg_publication where pubname = %s", (self.cfg.publication_name,))
            verb = "alter publication {} set table {}" if cur.fetchone() else "create publication {} for table {}"
            cur.execute(verb.format(self.cfg.publication_name, tables))
        conn.close()

    def _replication_connection(self):
        try:
            return psycopg2.connect(self.server.dsn(self.db),
                                    connection_factory=psycopg2.extras.LogicalReplicationConnection)
        except psycopg2.OperationalError as exc:
            raise CityDataError(f"connector {self.cfg.name}: replication connection refused: "
                                f"{str(exc).strip().splitlines()[0]}") from None

    def _slot_exists(self) -> bool:
        conn = self.server.connect(self.db)
        try:
            with conn.cursor() as cur:
                cur.execute("select 1 from pg_replication_slots where slot_name = %s", (self.cfg.slot_name,))
                return cur.fetchone() is not None
        finally:
            conn.close()

    def _drop_slot_if_exists(self) -> None:
        conn = self.server.connect(self.db)
        conn.autocommit = True
        with conn.cursor() as cur:
            cur.execute("select pg_drop_replication_slot(slot_name) from pg_replication_slots "
                        "where slot_name = %s", (self.cfg.slot_name,))
        conn.close()

    # -- snapshot ----------------------------------------------------------------------------
    def snapshot(self) -> int:
        """Create the slot and emit every existing row as an ``r`` event. No-op once done."""
        if self.offsets.load(self.cfg.name).get("snapshot_done"):
            if not self._slot_exists():
                raise CityDataError(
                    f"connector {self.cfg.name}: offsets say streaming from slot {self.cfg.slot_name}, but the "
                    f"slot is gone from database {self.db}: changes since may be lost — re-snapshot by deleting "
                    f"the connector's offset file (citydata keeps it under var/…/state/offsets/{self.cfg.name}.json)")
            return 0
        self.ensure_publication()
        self._drop_slot_if_exists()
        repl = self._replication_connection()
        try:
            cur = repl.cursor()
            cur.execute(f"CREATE_REPLICATION_SLOT {self.cfg.slot_name} LOGICAL pgoutput EXPORT_SNAPSHOT")
            _slot, consistent_point, snapshot_name, _plugin = cur.fetchone()
            lsn = parse_lsn(consistent_point)
            rows = self._read_snapshot(snapshot_name, lsn) if self.cfg.snapshot_mode == "initial" else 0
            self.producer.flush()
        finally:
            repl.close()
        self.offsets.save(self.cfg.name, {"slot": self.cfg.slot_name, "lsn": lsn,
                                          "lsn_text": format_lsn(lsn), "snapshot_done": True})
        self.stats.snapshot_rows += rows
        self.stats.last_lsn = lsn
        return rows

    def _columns(self, cur, table: Table) -> list[tuple[str, int]]:
        cur.execute("select attname, atttypid from pg_attribute where attrelid = %s::regclass "
                    "and attnum > 0 and not attisdropped order by attnum",
                    (f'"{table.schema_}"."{table.name}"',))
        return [(name, int(oid)) for name, oid in cur.fetchall()]

    def _read_snapshot(self, snapshot_name: str, lsn: int) -> int:
        conn = self.server.connect(self.db)
        conn.set_session(isolation_level="REPEATABLE READ", readonly=True)
        total = 0
        try:
            with conn.cursor() as cur:
                cur.execute("SET TRANSACTION SNAPSHOT %s", (snapshot_name,))
                columns = {t.name: self._columns(cur, t) for t in self.cfg.tables}
            ts_ms = int(time.time() * 1000)
            for table in self.cfg.tables:
                cols = columns[table.name]
                topic = self.cfg.topic(table)
                select_list = ", ".join(f'"{c}"::text' for c, _ in cols)
                with conn.cursor(name=f"snap_{table.name}") as cur:
                    cur.itersize = 10_000
                    cur.execute(f'select {select_list} from "{table.schema_}"."{table.name}"')
                    for values in cur:
                        row = {c: convert_value(v, oid) for (c, oid), v in zip(cols, values)}
                        src = pg_source(self.cfg.name, self.db, table.schema_, table.name, ts_ms=ts_ms,
                                        lsn=lsn, commit_lsn=lsn, tx_id=None, snapshot="true")
                        self.producer.send(topic, row, table.primary_key, make_envelope("r", None, row, src))
                        total += 1
                        if total % FLUSH_EVERY == 0:
                            self.producer.flush()
            conn.commit()
        finally:
            conn.close()
        return total

    # -- stream ------------------------------------------------------------------------------
    def stream(self, until: Callable[[], int | None], stop: threading.Event | None = None,
               on_event: Callable[[int], None] | None = None, timeout_s: float = 300.0) -> int:
        """Stream changes until the server has sent everything up to ``until()`` (an LSN).

        ``until()`` returns None while the caller still expects changes (keep streaming, until
        ``stop`` is set); ``timeout_s`` bounds the wait once a target is known.
        """
        offset = self.offsets.load(self.cfg.name)
        if not offset.get("snapshot_done"):
            raise CityDataError(f"connector {self.cfg.name}: no replication slot yet: run the snapshot first")
        acked = int(offset["lsn"])
        repl = self._replication_connection()
        cur = repl.cursor()
        try:
            cur.start_replication(slot_name=self.cfg.slot_name, decode=False, start_lsn=acked,
                                  options={"proto_version": "1",
                                           "publication_names": self.cfg.publication_name},
                                  status_interval=1)
        except psycopg2.Error as exc:
            repl.close()
            raise CityDataError(f"connector {self.cfg.name}: cannot start replication from slot "
                                f"{self.cfg.slot_name}: {str(exc).strip().splitlines()[0]}") from None
        decoder, tx = PgOutputDecoder(), None
        committed, unflushed, events = acked, 0, 0
        deadline = time.monotonic() + timeout_s
        last_ping = last_idle_ack = 0.0
        try:
            while True:
                msg = cur.read_message()
                if msg is not None:
                    item = decoder.decode(msg.payload)
                    if isinstance(item, Begin):
                        tx = item
                    elif isinstance(item, Change):
                        self._emit(item, tx, msg.data_start)
                        events += 1
                        self.stats.stream_events += 1
                        unflushed += 1
                        if on_event:
                            on_event(1)
                    elif isinstance(item, Commit):
                        committed, tx = item.end_lsn, None
                        self.stats.transactions += 1
                        if unflushed >= FLUSH_EVERY:
                            acked, unflushed = self._ack(cur, committed), 0
                    elif isinstance(item, Truncate):
                        self.stats.truncates += 1
                    continue
                if committed > acked:
                    acked, unflushed = self._ack(cur, committed), 0
                elif tx is None and (cur.wal_end or 0) > acked and time.monotonic() - last_idle_ack > 1.0:
                    # idle between transactions, everything sent is acknowledged: the server has nothing
                    # for us before wal_end, so confirm it and WAL of other databases is not retained
                    committed = acked = self._ack(cur, cur.wal_end)
                    last_idle_ack = time.monotonic()
                target = until()
                if target is not None and max(committed, cur.wal_end or 0) >= target:
                    break
                if stop is not None and stop.is_set():
                    break
                if target is not None and time.monotonic() > deadline:
                    raise CityDataError(f"connector {self.cfg.name}: stream did not reach "
                                        f"{format_lsn(target or 0)} within {timeout_s:.0f}s")
                now = time.monotonic()
                if now - last_ping > 0.2:  # ask the server for a keepalive carrying its sent position
                    cur.send_feedback(flush_lsn=acked, reply=True)
                    last_ping = now
                select.select([cur], [], [], 0.1)
        finally:
            repl.close()
        return events

    def _emit(self, change: Change, tx: Begin | None, lsn: int) -> None:
        table = self._tables.get((change.relation.schema, change.relation.table))
        if table is None:
            return  # in the publication but not declared: the publication is managed from the YAML
        src = pg_source(self.cfg.name, self.db, table.schema_, table.name,
                        ts_ms=tx.commit_ts_ms if tx else 0, lsn=lsn,
                        commit_lsn=tx.final_lsn if tx else lsn, tx_id=tx.xid if tx else None)
        row = change.after if change.after is not None else change.before
        self.producer.send(self.cfg.topic(table), row, table.primary_key,
                           make_envelope(change.op, change.before, change.after, src))

    def _ack(self, cur, committed: int) -> int:
        self.producer.flush()
        self.offsets.save(self.cfg.name, {"slot": self.cfg.slot_name, "lsn": committed,
                                          "lsn_text": format_lsn(committed), "snapshot_done": True})
        cur.send_feedback(flush_lsn=committed, force=True)
        self.stats.last_lsn = committed
        return committed


def slot_lag_bytes(server: PostgresServer, cfg: ConnectorConfig) -> int | None:
    """WAL the server keeps for this connector's slot: current position minus what we confirmed."""
    conn = server.connect(cfg.connection.database)
    try:
        with conn.cursor() as cur:
            cur.execute("select pg_current_wal_lsn() - confirmed_flush_lsn from pg_replication_slots "
                        "where slot_name = %s", (cfg.slot_name,))
            row = cur.fetchone()
            return int(row[0]) if row and row[0] is not None else None
    finally:
        conn.close()
