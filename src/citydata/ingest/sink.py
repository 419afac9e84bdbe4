"""Landing sink: Kafka topics → the warehouse's raw change-log tables (DuckDB or PostgreSQL), in Arrow
batches.

Each poll's events are appended per table inside one warehouse transaction; only then are the Kafka
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
from typing import Any

from kafka import KafkaConsumer, KafkaProducer
from kafka.errors import KafkaError

from citydata.errors import CityDataError
from citydata.ingest.config import ConnectorConfig
from citydata.ingest.envelope import EnvelopeError, decode_value, source_position
from citydata.warehouse.raw import RawEvent, append_events, transaction

MAX_VALUE_BYTES = 1024 * 1024  # a change event bigger than this is a poison message, not a record


@dataclass
class SinkStats:
    polled: int = 0
    landed: int = 0
    duplicates: int = 0
    tombstones: int = 0
    dead_letters: int = 0
    dead_letters_by_topic: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    per_table: dict[str, int] = field(default_factory=lambda: defaultdict(int))


class LandingSink:
    """``con``: the warehouse's connection — DuckDB's, or psycopg2's for a PostgreSQL warehouse
    (``Warehouse.con`` of ``citydata.warehouse.engine.open_warehouse``)."""

    def __init__(self, bootstrap: str, con: Any,
                 connectors: list[ConnectorConfig], group_id: str = "citydata-landing",
                 max_records: int = 20_000, max_latency_ms: int = 500):
        self.con = con
        self.routes: dict[str, tuple[str, str]] = {}
        self.primary_keys: dict[str, list[str]] = {}
        for c in connectors:
            for t in c.tables:
                self.routes[c.topic(t)] = (c.name, t.name)
                self.primary_keys[c.topic(t)] = t.primary_key
        self.stats = SinkStats()
        self.max_latency_ms = max_latency_ms
        try:
            self.consumer = KafkaConsumer(
                bootstrap_servers=bootstrap, group_id=group_id, enable_auto_commit=False,
                auto_offset_reset="earliest", session_timeout_ms=6000, heartbeat_interval_ms=1000,
                max_poll_records=max_records, fetch_max_bytes=64 * 1024 * 1024, client_id="citydata-sink")
            self.dlq = KafkaProducer(bootstrap_servers=bootstrap, acks="all", client_id="citydata-dlq",
                                     max_request_size=16 * 1024 * 1024)  # poison can be big; keep it whole
        except KafkaError as exc:
            raise CityDataError(f"cannot reach Kafka at {bootstrap}: {exc}") from None
        self.consumer.subscribe(sorted(self.routes))

    def _dead_letter(self, msg, reason: str) -> None:
        headers = [("dlq.reason", reason.encode()), ("dlq.topic", msg.topic.encode()),
                   ("dlq.partition", str(msg.partition).encode()), ("dlq.offset", str(msg.offset).encode())]
        self.dlq.send(f"{msg.topic}.dlq", key=msg.key, value=msg.value, headers=headers)
        self.stats.dead_letters += 1
        self.stats.dead_letters_by_topic[msg.topic] += 1

    def _to_event(self, msg, loaded_at: dt.datetime) -> RawEvent:
        if len(msg.value) > MAX_VALUE_BYTES:
            raise EnvelopeError(f"value too large ({len(msg.value)} bytes > {MAX_VALUE_BYTES})")
        env = decode_value(msg.value)
        seq, subseq, pos = source_position(env["source"])
        src = env["source"]
        if not msg.key:
            raise EnvelopeError("message has no key")
        try:
            key_obj = json.loads(msg.key)
        except (UnicodeDecodeError, json.JSONDecodeError):
            raise EnvelopeError("key is not JSON") from None
        if not isinstance(key_obj, dict) or not key_obj:
            raise EnvelopeError("key is not a JSON object of the primary key")
        row = env["after"] if env["op"] != "d" else env["before"]
        pk = self.primary_keys[msg.topic]
        missing = [k for k in pk if row.get(k) is None]
        if missing:
            raise EnvelopeError(f"primary key column(s) {missing} missing from the row")
        nested = [c for c, v in row.items() if isinstance(v, (dict, list))]
        if nested:
            raise EnvelopeError(f"column(s) {nested} hold objects, not scalar values")
        key = json.dumps(key_obj, ensure_ascii=False, separators=(",", ":"))
        return RawEvent(msg.topic, msg.partition, msg.offset, key, env["op"], seq, subseq, pos,
                        src.get("txId"), env["op"] == "r", src.get("ts_ms"), env.get("ts_ms"),
                        loaded_at, env.get("before"), env.get("after"))

    def poll_once(self, timeout_ms: int | None = None) -> int:
        """One poll (at most ``max_records``, waiting at most the max latency) → one warehouse
        transaction → one offset commit. Returns messages polled."""
        records = self.consumer.poll(timeout_ms=self.max_latency_ms if timeout_ms is None else timeout_ms)
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
        with transaction(self.con):
            for (connector, table), events in by_table.items():
                landed = append_events(self.con, connector, table, events)
                self.stats.landed += landed
                self.stats.duplicates += len(events) - landed
                self.stats.per_table[f"{connector}.{table}"] += landed
        self.dlq.flush()
        self.consumer.commit()
        self.stats.polled += polled
        return polled

    def lag_by_topic(self) -> dict[str, int]:
        assigned = list(self.consumer.assignment())
        if not assigned:
            return {}
        ends = self.consumer.end_offsets(assigned)
        lags: dict[str, int] = defaultdict(int)
        for tp in assigned:
            lags[tp.topic] += max(0, ends[tp] - self.consumer.position(tp))
        return dict(lags)

    def lag(self) -> int:
        lags = self.lag_by_topic()
        return sum(lags.values()) if lags else -1

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

