"""CDC benchmark: latency from source commit to the warehouse, sustained throughput, and ceilings.

In one run, against an embedded PostgreSQL and tansu broker:
- at 1,000 and 5,000 changes/s offered for a few seconds: source commit → row landed in the raw
  table (commit timestamp in the envelope vs the sink's ``_loaded_at``), p50/p99;
- sustained end-to-end changes/s for a burst offered as fast as the source takes it;
- the ceiling: ``pg_recvlogical`` decoding the same WAL with pgoutput to /dev/null;
- the sink's Arrow batch append against a naive row-by-row INSERT baseline.

    python -m bench.cdc [--seconds 5] [--burst 100000]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import subprocess
import tempfile
import threading
import time
from pathlib import Path

import duckdb

from citydata.ingest.config import ConnectorConfig
from citydata.ingest.offsets import OffsetStore
from citydata.ingest.postgres_cdc import PostgresCDC, format_lsn, parse_lsn
from citydata.ingest.producer import EventProducer, ensure_topics
from citydata.ingest.sink import LandingSink
from citydata.services.kafka import EmbeddedKafka
from citydata.services.postgres import EmbeddedPostgres, _find_bin
from citydata.warehouse.raw import RawEvent, append_events

RESULTS = Path(__file__).parent / "results" / "cdc.json"
CFG = ConnectorConfig.model_validate({
    "name": "bench", "type": "postgres", "topic_prefix": "bench", "connection": {"database": "bench"},
    "department": {"code": "bench", "name_zh": "基准", "name_en": "Bench"},
    "tables": [{"schema": "s", "name": "changes", "primary_key": ["id"],
                "columns": {"id": {"type": "bigint"}, "payload": {"type": "text"}, "n": {"type": "integer"}}}]})


def current_lsn(conn) -> int:
    with conn.cursor() as cur:
        cur.execute("select pg_current_wal_lsn()::text")
        return parse_lsn(cur.fetchone()[0])


def offer(conn, start_id: int, rate: int, seconds: float) -> int:
    """Insert ``rate`` rows per second in 10 transactions per second; returns rows inserted."""
    per_tick, n, t0 = max(1, rate // 10), 0, time.perf_counter()
    with conn.cursor() as cur:
        for tick in range(int(seconds * 10)):
            cur.execute("insert into s.changes select g, md5(g::text), g from generate_series(%s, %s) g",
                        (start_id + n, start_id + n + per_tick - 1))
            conn.commit()
            n += per_tick
            sleep = t0 + (tick + 1) / 10 - time.perf_counter()
            if sleep > 0:
                time.sleep(sleep)
    return n


def latencies(con, lo: int, hi: int) -> dict:
    q = (f"select quantile_cont(ms, 0.5), quantile_cont(ms, 0.99), count(*) from ("
         f"select epoch_ms(_loaded_at) - _source_ts_ms as ms from raw.bench__changes "
         f"where cast(id as bigint) between {lo} and {hi} and _op = 'c')")
    p50, p99, n = con.execute(q).fetchone()
    return {"p50_ms": round(p50, 1), "p99_ms": round(p99, 1), "rows": n}


def naive_vs_batch(n: int) -> dict:
    now = dt.datetime.now(dt.UTC)
    events = [RawEvent("t", 0, i, json.dumps({"id": i}), "c", i, i, str(i), 1, False, 0, 0, now, None,
                       {"id": i, "payload": f"p{i}", "n": i}) for i in range(n)]
    con = duckdb.connect()
    t0 = time.perf_counter()
    append_events(con, "b", "t", events)
    batch_s = time.perf_counter() - t0
    con.execute("create table naive (id varchar, payload varchar, n varchar, _key varchar, _op varchar)")
    t0 = time.perf_counter()
    for e in events[: n // 10]:
        con.execute("insert into naive values (?, ?, ?, ?, ?)", [str(e.after["id"]), e.after["payload"],
                                                                  str(e.after["n"]), e.key, e.op])
    naive_s = (time.perf_counter() - t0) * 10
    return {"rows": n, "batch_rows_per_s": round(n / batch_s), "naive_rows_per_s": round(n / naive_s),
            "batch_vs_naive": round(naive_s / batch_s, 1)}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--burst", type=int, default=100_000)
    args = parser.parse_args()
    result: dict = {"benchmark": "cdc", "recorded_at": time.strftime("%Y-%m-%dT%H:%M:%S%z")}
    with EmbeddedPostgres() as pg, EmbeddedKafka() as kafka, tempfile.TemporaryDirectory() as tmp:
        pg.create_database("bench")
        conn = pg.connect("bench")
        with conn.cursor() as cur:
            cur.execute("create schema s; create table s.changes (id bigint primary key, payload text, n integer)")
        conn.commit()
        ensure_topics(kafka.bootstrap_servers, [CFG.topic(CFG.tables[0])], 3)
        producer = EventProducer(kafka.bootstrap_servers)
        cdc = PostgresCDC(CFG, pg, producer, OffsetStore(Path(tmp) / "o"))
        cdc.snapshot()
        with conn.cursor() as cur:  # a second slot for the ceiling, at the same starting point
            cur.execute("select pg_create_logical_replication_slot('ceiling', 'pgoutput')")
        conn.commit()
        stop, target = threading.Event(), {"lsn": None}
        streamer = threading.Thread(target=cdc.stream, kwargs={"until": lambda: target["lsn"], "stop": stop})
        streamer.start()
        con = duckdb.connect(str(Path(tmp) / "wh.duckdb"))
        sink = LandingSink(kafka.bootstrap_servers, con, [CFG], group_id="bench", max_latency_ms=100)
        sink_stop = threading.Event()

        def land() -> None:
            while not sink_stop.is_set():
                sink.poll_once()
        lander = threading.Thread(target=land)
        lander.start()
        time.sleep(4)  # consumer group join
        next_id = 1
        for rate in (1000, 5000):
            n = offer(conn, next_id, rate, args.seconds)
            time.sleep(3)
            result[f"offered_{rate}"] = (next_id, next_id + n - 1)
            next_id += n
        burst_start = time.perf_counter()
        with conn.cursor() as cur:
            for i in range(0, args.burst, 5000):
                cur.execute("insert into s.changes select g, md5(g::text), g from generate_series(%s, %s) g",
                            (next_id + i, next_id + min(i + 5000, args.burst) - 1))
                conn.commit()
        end_lsn = current_lsn(conn)
        target["lsn"] = end_lsn
        streamer.join()
        while sink.lag() != 0:
            time.sleep(0.05)
        burst_s = time.perf_counter() - burst_start
        sink_stop.set()
        lander.join()
        sink.close()
        producer.close()
        for rate in (1000, 5000):
            lo, hi = result.pop(f"offered_{rate}")
            result[f"latency_at_{rate}_per_s"] = latencies(con, lo, hi)
        result["burst"] = {"changes": args.burst, "seconds": round(burst_s, 3),
                           "end_to_end_changes_per_s": round(args.burst / burst_s)}
        total = next_id - 1 + args.burst
        t0 = time.perf_counter()
        subprocess.run(["runuser", "-u", "postgres", "--", _find_bin("pg_recvlogical"), "-h", "127.0.0.1",
                        "-p", str(pg.port), "-U", "postgres", "-d", "bench", "--slot", "ceiling", "--start",
                        "-o", "proto_version=1", "-o", "publication_names=citydata_bench",
                        "-E", format_lsn(end_lsn), "-f", "/dev/null"], check=True, capture_output=True)
        recv_s = time.perf_counter() - t0
        result["pg_recvlogical"] = {"changes": total, "seconds": round(recv_s, 3),
                                    "changes_per_s": round(total / recv_s)}
        result["end_to_end_vs_pg_recvlogical"] = round(
            result["burst"]["end_to_end_changes_per_s"] / result["pg_recvlogical"]["changes_per_s"], 3)
        conn.close()
        con.close()
    result["sink_batch_vs_naive"] = naive_vs_batch(50_000)
    result["targets"] = {"end_to_end_changes_per_s": 5000, "p99_ms_at_1000_per_s": 2000,
                         "min_ratio_vs_pg_recvlogical": 0.30}
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
