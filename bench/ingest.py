"""Ingest benchmark: CDC snapshot and landing throughput against kafka-python's own ceiling.

Ceilings, measured in the same run against the same broker: a bare kafka-python producer sending as
many pre-encoded messages of the envelopes' size (for the CDC snapshot), and a bare kafka-python
consumer in a fresh group reading the same topics (for the landing sink, group join included).
ARCHITECTURE.md: kafka-python, not decoding, is the bottleneck. Compare the ratios across machines,
not the seconds.

    python -m bench.ingest [--persons N]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import tempfile
import time
from pathlib import Path

from kafka import KafkaConsumer, KafkaProducer

from citydata.ingest.config import load_connectors
from citydata.ingest.offsets import OffsetStore
from citydata.ingest.postgres_cdc import PostgresCDC
from citydata.ingest.producer import EventProducer, ensure_topics
from citydata.ingest.sink import LandingSink
from citydata.services.kafka import EmbeddedKafka
from citydata.services.postgres import EmbeddedPostgres
from citydata.settings import PROJECT_ROOT
from citydata.synth import generate, load_initial
from citydata.warehouse import duck

RESULTS = Path(__file__).parent / "results" / "ingest.json"


def ceiling(bootstrap: str, n: int, size: int) -> float:
    ensure_topics(bootstrap, ["bench.ceiling"], 3)
    producer = KafkaProducer(bootstrap_servers=bootstrap, acks="all", linger_ms=20, batch_size=512 * 1024)
    payload = b"x" * size
    started = time.perf_counter()
    for i in range(n):
        producer.send("bench.ceiling", key=str(i).encode(), value=payload)
    producer.flush()
    producer.close()
    return time.perf_counter() - started


def consume_ceiling(bootstrap: str, topics: list[str], expected: int) -> float:
    """A bare consumer in a fresh group reading the same topics, doing nothing with the messages."""
    consumer = KafkaConsumer(*topics, bootstrap_servers=bootstrap, group_id="bench-ceiling",
                             auto_offset_reset="earliest", enable_auto_commit=False, session_timeout_ms=6000,
                             heartbeat_interval_ms=1000, max_poll_records=20_000,
                             fetch_max_bytes=64 * 1024 * 1024)
    started = time.perf_counter()
    seen = 0
    while seen < expected:
        for msgs in consumer.poll(timeout_ms=500).values():
            seen += len(msgs)
    consumer.commit()
    consumer.close()
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--persons", type=int, default=20_000)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    connectors = load_connectors(PROJECT_ROOT / "connectors")
    city = generate(args.persons, args.seed)
    with EmbeddedPostgres() as pg, EmbeddedKafka() as kafka, tempfile.TemporaryDirectory() as tmp:
        rows = sum(load_initial(city, pg, connectors).values())
        ensure_topics(kafka.bootstrap_servers, [c.topic(t) for c in connectors for t in c.tables], 3)
        producer = EventProducer(kafka.bootstrap_servers)
        offsets = OffsetStore(Path(tmp) / "offsets")
        started = time.perf_counter()
        snapshot_rows = sum(PostgresCDC(c, pg, producer, offsets).snapshot() for c in connectors)
        snapshot_s = time.perf_counter() - started
        producer.close()
        con = duck.connect(Path(tmp) / "wh.duckdb")
        sink = LandingSink(kafka.bootstrap_servers, con, connectors, group_id="bench")
        started = time.perf_counter()
        sink.drain(timeout_s=600)
        land_s = time.perf_counter() - started
        sink.close()
        polled = sink.stats.polled
        consume_s = consume_ceiling(kafka.bootstrap_servers, [c.topic(t) for c in connectors for t in c.tables],
                                    polled)
        avg_size = 600  # bytes: typical envelope size of these tables
        ceiling_s = ceiling(kafka.bootstrap_servers, snapshot_rows, avg_size)
    result = {
        "benchmark": "ingest", "persons": args.persons, "source_rows": rows, "snapshot_rows": snapshot_rows,
        "snapshot_seconds": round(snapshot_s, 3), "snapshot_rows_per_s": round(snapshot_rows / snapshot_s),
        "land_seconds": round(land_s, 3), "land_rows_per_s": round(snapshot_rows / land_s),
        "ceiling_seconds": round(ceiling_s, 3), "ceiling_msgs_per_s": round(snapshot_rows / ceiling_s),
        "snapshot_vs_ceiling": round(ceiling_s / snapshot_s, 3),
        "consume_ceiling_seconds": round(consume_s, 3),
        "land_vs_ceiling": round(consume_s / land_s, 3),
        "machine": {"python": platform.python_version(), "cpus": os.cpu_count()},
        "recorded_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
