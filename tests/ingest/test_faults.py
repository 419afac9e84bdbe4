"""Faults against the real PostgreSQL, broker and DuckDB: hostile events, a sink crash between the
warehouse commit and the offset commit, and kill -9 of the running connect service."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.request
import uuid

import duckdb
import pytest
from kafka import KafkaConsumer, KafkaProducer

from citydata.ingest.config import ConnectorConfig
from citydata.ingest.offsets import OffsetStore
from citydata.ingest.postgres_cdc import PostgresCDC
from citydata.ingest.producer import EventProducer, ensure_topics
from citydata.ingest.sink import MAX_VALUE_BYTES, LandingSink
from citydata.services.ports import free_port
from citydata.settings import PROJECT_ROOT


def _cfg(name: str, db: str | None = None) -> ConnectorConfig:
    return ConnectorConfig.model_validate({
        "name": name, "type": "postgres", "topic_prefix": name, "connection": {"database": db or name},
        "department": {"code": "d", "name_zh": "某局", "name_en": "D"},
        "tables": [{"schema": "s", "name": "t", "primary_key": ["id"],
                    "columns": {"id": {"type": "bigint"}, "v": {"type": "text"}, "n": {"type": "integer"}}}]})


def _source(pg, db: str, rows: int = 0):
    pg.create_database(db)
    conn = pg.connect(db)
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute("create schema s; create table s.t (id bigint primary key, v text, n integer); "
                    "alter table s.t replica identity full")
        if rows:
            cur.execute("insert into s.t select g, md5(g::text), g from generate_series(1, %s) g", (rows,))
    return conn


def _source_state(conn) -> list[tuple]:
    with conn.cursor() as cur:
        cur.execute("select id::text, v, n::text from s.t")
        return sorted(cur.fetchall(), key=lambda r: int(r[0]))


def _warehouse_state(path, name: str) -> list[tuple]:
    con = duckdb.connect(str(path), read_only=True)
    try:
        rows = con.execute(f"select id, v, n from raw.{name}__t__current").fetchall()
        return sorted(rows, key=lambda r: int(r[0]))
    finally:
        con.close()


def _checksum(rows: list[tuple]) -> str:
    return hashlib.sha256("\n".join("|".join(str(v) for v in r) for r in rows).encode()).hexdigest()


def _good_event(i: int) -> dict:
    return {"before": None, "after": {"id": i, "v": f"ok{i}", "n": i}, "op": "c", "ts_ms": 1,
            "source": {"connector": "postgresql", "lsn": 1000 + i, "commit_lsn": 1000 + i, "txId": i, "ts_ms": 1}}


HOSTILE = [
    ("broken JSON", lambda i: (b'{"id":%d}' % i, b'{"after": {"id": 1')),
    ("after is a string", lambda i: (b'{"id":%d}' % i, json.dumps({**_good_event(i), "after": "x"}).encode())),
    ("unknown op", lambda i: (b'{"id":%d}' % i, json.dumps({**_good_event(i), "op": "z"}).encode())),
    ("missing key", lambda i: (None, json.dumps(_good_event(i)).encode())),
    ("key not JSON", lambda i: (b"id=%d" % i, json.dumps(_good_event(i)).encode())),
    ("huge value", lambda i: (b'{"id":%d}' % i, json.dumps(
        {**_good_event(i), "after": {"id": i, "v": "x" * (MAX_VALUE_BYTES + 10)}}).encode())),
    ("key column missing", lambda i: (b'{"id":%d}' % i, json.dumps(
        {**_good_event(i), "after": {"v": "no id"}}).encode())),
    ("position not numeric", lambda i: (b'{"id":%d}' % i, json.dumps(
        {**_good_event(i), "source": {"lsn": "zz"}}).encode())),
    ("object in a column", lambda i: (b'{"id":%d}' % i, json.dumps(
        {**_good_event(i), "after": {"id": i, "v": {"nested": 1}}}).encode())),
    ("value is an array", lambda i: (b'{"id":%d}' % i, b"[1, 2, 3]")),
]


def test_thousand_hostile_events_go_to_dead_letters_and_valid_ones_land(kafka, tmp_path):
    name = f"hostile{uuid.uuid4().hex[:6]}"
    cfg = _cfg(name)
    topic = cfg.topic(cfg.tables[0])
    ensure_topics(kafka.bootstrap_servers, [topic, f"{topic}.dlq"], partitions=3)
    producer = KafkaProducer(bootstrap_servers=kafka.bootstrap_servers, max_request_size=8 * 1024 * 1024,
                             linger_ms=10)
    good = 0
    for i in range(1000):
        key, value = HOSTILE[i % len(HOSTILE)][1](100_000 + i)
        producer.send(topic, key=key, value=value)
        if i % 2 == 0:
            producer.send(topic, key=b'{"id":%d}' % i, value=json.dumps(_good_event(i)).encode())
            good += 1
    producer.flush()
    producer.close()
    con = duckdb.connect(str(tmp_path / "wh.duckdb"))
    sink = LandingSink(kafka.bootstrap_servers, con, [cfg], group_id=f"g-{uuid.uuid4().hex}")
    sink.drain(timeout_s=120)
    sink.close()
    assert sink.stats.landed == good and sink.stats.dead_letters == 1000
    assert con.execute(f"select count(*) from raw.{name}__t__current").fetchone()[0] == good
    consumer = KafkaConsumer(f"{topic}.dlq", bootstrap_servers=kafka.bootstrap_servers, auto_offset_reset="earliest",
                             group_id=f"d-{uuid.uuid4().hex}", consumer_timeout_ms=5000,
                             fetch_max_bytes=64 * 1024 * 1024, session_timeout_ms=6000, heartbeat_interval_ms=1000)
    reasons = [dict(m.headers)["dlq.reason"].decode() for m in consumer]
    consumer.close()
    assert len(reasons) == 1000 and all(reasons)
    joined = " ".join(reasons)
    for fragment in ("not JSON", "needs an object", "op must be one of", "no key", "key is not JSON",
                     "value too large", "primary key column", "not numeric", "hold objects", "not a JSON object"):
        assert fragment in joined, fragment


def test_sink_crash_between_warehouse_commit_and_offset_commit_leaves_no_duplicates(pg, kafka, tmp_path):
    name = f"crash{uuid.uuid4().hex[:6]}"
    conn = _source(pg, name, rows=3000)
    cfg = _cfg(name)
    ensure_topics(kafka.bootstrap_servers, [cfg.topic(cfg.tables[0])], partitions=3)
    producer = EventProducer(kafka.bootstrap_servers)
    PostgresCDC(cfg, pg, producer, OffsetStore(tmp_path / "offsets")).snapshot()
    producer.close()
    con = duckdb.connect(str(tmp_path / "wh.duckdb"))
    group = f"g-{uuid.uuid4().hex}"
    sink = LandingSink(kafka.bootstrap_servers, con, [cfg], group_id=group, max_records=1000)

    def crash() -> None:
        raise RuntimeError("process died after the warehouse commit, before the offset commit")
    sink.consumer.commit = crash
    with pytest.raises(RuntimeError):
        while True:
            sink.poll_once()
    landed_before_crash = sink.stats.landed
    assert landed_before_crash > 0
    sink.consumer.close(autocommit=False)
    sink.dlq.close()
    restarted = LandingSink(kafka.bootstrap_servers, con, [cfg], group_id=group)
    restarted.drain(timeout_s=60)
    restarted.close()
    assert restarted.stats.duplicates >= landed_before_crash  # re-read, recognised, skipped
    log_rows = con.execute(f"select count(*) from raw.{name}__t").fetchone()[0]
    assert log_rows == 3000
    con.close()
    warehouse, source = _warehouse_state(tmp_path / "wh.duckdb", name), _source_state(conn)
    assert _checksum(warehouse) == _checksum(source)


def _metrics(port: int) -> dict[str, float]:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as r:
        text = r.read().decode()
    out: dict[str, float] = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            k, v = line.rsplit(" ", 1)
            out[k] = float(v)
    return out


def _start_service(pg, kafka, connectors_dir, var_dir, port: int) -> subprocess.Popen:
    env = {**os.environ, "CITYDATA_POSTGRES__HOST": "127.0.0.1", "CITYDATA_POSTGRES__PORT": str(pg.port),
           "CITYDATA_KAFKA__BOOTSTRAP_SERVERS": kafka.bootstrap_servers, "CITYDATA_KAFKA__PARTITIONS": "3",
           "CITYDATA_CONNECTORS_DIR": str(connectors_dir), "CITYDATA_VAR_DIR": str(var_dir)}
    proc = subprocess.Popen([sys.executable, "-m", "citydata.cli", "connect", "run", "--metrics-port", str(port)],
                            cwd=PROJECT_ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            _metrics(port)
            return proc
        except OSError:
            assert proc.poll() is None, proc.stderr.read().decode()[-2000:]
            time.sleep(0.2)
    raise AssertionError("connect service did not come up")


def _caught_up(port: int, name: str) -> bool:
    m = _metrics(port)
    slot = m.get(f'citydata_replication_slot_lag_bytes{{connector="{name}"}}')
    lags = [v for k, v in m.items() if k.startswith("citydata_sink_lag_messages")]
    return slot == 0 and bool(lags) and not any(lags)


def test_kill_9_mid_stream_then_restart_loses_nothing(pg, kafka, tmp_path):
    name = f"kill{uuid.uuid4().hex[:6]}"
    conn = _source(pg, name, rows=2000)
    connectors_dir = tmp_path / "connectors"
    connectors_dir.mkdir()
    cfg = _cfg(name)
    (connectors_dir / f"{name}.yaml").write_text(json.dumps(cfg.model_dump(by_alias=True, exclude_none=True)))
    port = free_port()
    proc = _start_service(pg, kafka, connectors_dir, tmp_path / "var", port)
    writer_conn = pg.connect(name)
    writer_conn.autocommit = False

    def write() -> None:
        with writer_conn.cursor() as cur:
            for batch in range(200):
                base = 10_000 + batch * 50
                cur.execute("insert into s.t select g, 'new', g from generate_series(%s, %s) g", (base, base + 49))
                cur.execute("update s.t set n = n + 1 where id %% 200 = %s", (batch,))
                cur.execute("delete from s.t where id = %s", (batch * 7 + 1,))
                writer_conn.commit()
                time.sleep(0.01)
    writer = threading.Thread(target=write)
    writer.start()
    time.sleep(1.5)
    proc.send_signal(signal.SIGKILL)  # mid-stream: no flush, no offset save, no goodbye
    proc.wait(timeout=10)
    proc = _start_service(pg, kafka, connectors_dir, tmp_path / "var", port)
    writer.join()
    writer_conn.close()
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and not _caught_up(port, name):
        time.sleep(0.5)
    time.sleep(1.0)
    assert _caught_up(port, name), _metrics(port)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode in (0, 130), err.decode()[-2000:]
    source, warehouse = _source_state(conn), _warehouse_state(tmp_path / "var" / "warehouse.duckdb", name)
    assert len(warehouse) == len(source)
    assert _checksum(warehouse) == _checksum(source)
