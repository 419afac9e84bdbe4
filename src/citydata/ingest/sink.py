"""Landing sink: Kafka topics → DuckDB raw change-log tables, in Arrow batches.

Each poll's events are appended per table inside one DuckDB transaction; only then are the Kafka
offsets committed, so a crash replays rather than loses. Appends are idempotent (see
:mod:`citydata.warehouse.raw`), so the replay changes nothing. Tombstones are skipped. A message
that is not a valid change event goes to ``<topic>.dlq`` with the reason and origin in headers.
"""

from __future__ import annotations

import datetime as dt
import json
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field

import duckdb
from kafka import KafkaConsumer, KafkaProducer
from kafka.errors import KafkaError

from citydata.errors import CityDataError
from citydata.ingest.config import ConnectorConfig
from citydata.ingest.envelope import EnvelopeError, decode_value, source_position
from citydata.warehouse.raw import RawEvent, append_events


@dataclass
class SinkStats:
    polled: int = 0
    landed: int = 0
    duplicates: int = 0
    tombstones: int = 0
    dead_letters: int = 0
    per_table: dict[str, int] = field(default_factory=lambda: defaultdict(int))


class LandingSink:
    def __init__(self, bootstrap: str, con: duckdb.DuckDBPyConnection,
                 connectors: list[ConnectorConfig], group_id: str = "citydata-landing"):
        self.con = con
        self.routes: dict[str, tuple[str, str]] = {}
        for c in connectors:
            for t in c.tables:
                self.routes[c.topic(t)] = (c.name, t.name)
        self.stats = SinkStats()
        try:
            self.consumer = KafkaConsumer(
                bootstrap_servers=bootstrap, group_id=group_id, enable_auto_commit=False,
                auto_offset_reset="earliest", session_timeout_ms=6000, heartbeat_interval_ms=1000,
                max_poll_records=20_000, fetch_max_bytes=64 * 1024 * 1024, client_id="citydata-sink")
            self.dlq = KafkaProducer(bootstrap_servers=bootstrap, acks="all", client_id="citydata-dlq")
        except KafkaError as exc:
            raise CityDataError(f"cannot reach Kafka at {bootstrap}: {exc}") from None
        self.consumer.subscribe(sorted(self.routes))

    def _dead_letter(self, msg, reason: str) -> None:
        headers = [("dlq.reason", reason.encode()), ("dlq.topic", msg.topic.encode()),
                   ("dlq.partition", str(msg.partition).encode()), ("dlq.offset", str(msg.offset).encode())]
        self.dlq.send(f"{msg.topic}.dlq", key=msg.key, value=msg.value, headers=headers)
        self.stats.dead_letters += 1

    def _to_event(self, msg, loaded_at: dt.datetime) -> RawEvent:
        env = decode_value(msg.value)
        seq, subseq, pos = source_position(env["source"])
        src = env["source"]
        key = msg.key.decode("utf-8") if msg.key else None
        if not key:
            raise EnvelopeError("message has no key")
        key = json.dumps(json.loads(key), ensure_ascii=False, separators=(",", ":"))
        return RawEvent(msg.topic, msg.partition, msg.offset, key, env["op"], seq, subseq, pos,
                        src.get("txId"), env["op"] == "r", src.get("ts_ms"), env.get("ts_ms"),
                        loaded_at, env.get("before"), env.get("after"))

    def poll_once(self, timeout_ms: int = 500) -> int:
        """One poll → one transaction → one offset commit. Returns messages polled."""
        records = self.consumer.poll(timeout_ms=timeout_ms)
        if not records:
            return 0
        loaded_at = dt.datetime.now(dt.UTC)
        by_table: dict[tuple[str, str], list[RawEvent]] = defaultdict(list)
        polled = 0
        for msgs in records.values():
            for msg in msgs:
                polled += 1
                if msg.value is None:
                    self.stats.tombstones += 1
                    continue
                try:
                    by_table[self.routes[msg.topic]].append(self._to_event(msg, loaded_at))
                except (EnvelopeError, ValueError, TypeError, KeyError) as exc:
                    self._dead_letter(msg, f"{type(exc).__name__}: {exc}")
        self.con.execute("begin transaction")
        try:
            for (connector, table), events in by_table.items():
                landed = append_events(self.con, connector, table, events)
                self.stats.landed += landed
                self.stats.duplicates += len(events) - landed
                self.stats.per_table[f"{connector}.{table}"] += landed
            self.con.execute("commit")
        except Exception:
            self.con.execute("rollback")
            raise
        self.dlq.flush()
        self.consumer.commit()
        self.stats.polled += polled
        return polled

    def lag(self) -> int:
        assigned = self.consumer.assignment()
        if not assigned:
            return -1
        ends = self.consumer.end_offsets(list(assigned))
        return sum(max(0, ends[tp] - self.consumer.position(tp)) for tp in assigned)

    def drain(self, timeout_s: float = 120.0, on_batch: Callable[[int], None] | None = None) -> int:
        """Land everything currently in the topics; returns messages polled."""
        deadline = time.monotonic() + timeout_s
        total = 0
        while time.monotonic() < deadline:
            n = self.poll_once()
            total += n
            if n and on_batch:
                on_batch(n)
            if n == 0 and self.lag() == 0:
                return total
        raise CityDataError(f"landing sink still lagging after {timeout_s:.0f}s (lag {self.lag()} messages)")

    def close(self) -> None:
        self.consumer.close()
        self.dlq.close()

