"""PostgreSQL CDC → Kafka → DuckDB raw, against a real PostgreSQL, tansu and DuckDB."""

from __future__ import annotations

import json
import uuid

import duckdb
import pytest
from kafka import KafkaConsumer

from citydata.ingest.config import ConnectorConfig
from citydata.ingest.offsets import OffsetStore
from citydata.ingest.postgres_cdc import PostgresCDC, parse_lsn
from citydata.ingest.producer import EventProducer, ensure_topics
from citydata.ingest.sink import LandingSink

from .landing import land_then_replay


def _connector(db: str) -> ConnectorConfig:
    return ConnectorConfig.model_validate({
        "name": db, "type": "postgres", "topic_prefix": db,
        "department": {"code": "test_dept", "name_zh": "测试局", "name_en": "Test"},
        "connection": {"database": db},
        "tables": [{"schema": "reg", "name": "people", "primary_key": ["id"],
                    "columns": {"id": {"type": "bigint"}, "name": {"type": "text"},
                                "born": {"type": "date"}, "score": {"type": "numeric(6,2)"},
                                "active": {"type": "boolean"}}}],
    })


@pytest.fixture
def source(pg):
    db = f"cdc_{uuid.uuid4().hex[:8]}"
    pg.create_database(db)
    conn = pg.connect(db)
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute("create schema reg; create table reg.people (id bigint primary key, name text, "
                    "born date, score numeric(6,2), active boolean); "
                    "alter table reg.people replica identity full; "
                    "insert into reg.people values (1, '张三', '1980-01-02', 1.5, true), (2, '李四', null, 2, false)")
    yield db, conn
    conn.close()


def _current_lsn(conn) -> int:
    with conn.cursor() as cur:
        cur.execute("select pg_current_wal_lsn()::text")
        return parse_lsn(cur.fetchone()[0])


def _read_topic(kafka, topic: str) -> list:
    consumer = KafkaConsumer(topic, bootstrap_servers=kafka.bootstrap_servers, auto_offset_reset="earliest",
                             group_id=f"t-{uuid.uuid4().hex}", consumer_timeout_ms=4000,
                             session_timeout_ms=6000, heartbeat_interval_ms=1000)
    msgs = list(consumer)
    consumer.close()
    return sorted(msgs, key=lambda m: (m.partition, m.offset))


def test_insert_update_delete_become_c_u_d_with_tombstone(pg, kafka, source, tmp_path):
    db, conn = source
    cfg = _connector(db)
    topic = cfg.topic(cfg.tables[0])
    ensure_topics(kafka.bootstrap_servers, [topic], partitions=1)
    producer = EventProducer(kafka.bootstrap_servers)
    cdc = PostgresCDC(cfg, pg, producer, OffsetStore(tmp_path / "offsets"))
    assert cdc.snapshot() == 2
    with conn.cursor() as cur:
        cur.execute("insert into reg.people values (3, '王五', '2001-03-04', 3.25, true)")
        cur.execute("update reg.people set name = '张叁' where id = 1")
        cur.execute("delete from reg.people where id = 2")
    target = _current_lsn(conn)
    assert cdc.stream(until=lambda: target) == 3
    msgs = _read_topic(kafka, topic)
    values = [json.loads(m.value) if m.value else None for m in msgs]
    ops = [v["op"] if v else None for v in values]
    assert ops == ["r", "r", "c", "u", "d", None]
    snap, _, ins, upd, dele, _ = values
    assert snap["after"] == {"id": 1, "name": "张三", "born": "1980-01-02", "score": "1.50", "active": True}
    assert ins["before"] is None and ins["after"]["name"] == "王五"
    assert upd["before"]["name"] == "张三" and upd["after"]["name"] == "张叁"
    assert dele["before"]["id"] == 2 and dele["after"] is None
    assert json.loads(msgs[-1].key) == {"id": 2}  # the tombstone carries the deleted key
    assert upd["source"]["txId"] and upd["source"]["table"] == "people" and upd["source"]["db"] == db
    assert int(upd["source"]["commit_lsn"]) > int(snap["source"]["lsn"])
    producer.close()


def test_sink_lands_current_state_and_replay_changes_nothing(pg, kafka, source, tmp_path):
    db, conn = source
    cfg = _connector(db)
    ensure_topics(kafka.bootstrap_servers, [cfg.topic(t) for t in cfg.tables], partitions=3)
    producer = EventProducer(kafka.bootstrap_servers)
    cdc = PostgresCDC(cfg, pg, producer, OffsetStore(tmp_path / "offsets"))
    cdc.snapshot()
    with conn.cursor() as cur:
        cur.execute("update reg.people set score = 9 where id = 1")
        cur.execute("update reg.people set score = 10 where id = 1")  # two changes to one row
        cur.execute("delete from reg.people where id = 2")
        cur.execute("insert into reg.people values (4, '赵六', null, null, null)")
    target = _current_lsn(conn)
    cdc.stream(until=lambda: target)
    con = duckdb.connect(str(tmp_path / "wh.duckdb"))
    # 2 snapshot + 2 updates + delete + insert in the change log
    land_then_replay(kafka.bootstrap_servers, con, cfg, "people", "id, name, score",
                     [("1", "张三", "10.00"), ("4", "赵六", None)], expected_log_rows=6)
    producer.close()


def test_stream_resumes_from_stored_offset(pg, kafka, source, tmp_path):
    db, conn = source
    cfg = _connector(db)
    ensure_topics(kafka.bootstrap_servers, [cfg.topic(t) for t in cfg.tables], partitions=1)
    offsets = OffsetStore(tmp_path / "offsets")
    producer = EventProducer(kafka.bootstrap_servers)
    PostgresCDC(cfg, pg, producer, offsets).snapshot()
    with conn.cursor() as cur:
        cur.execute("insert into reg.people values (5, 'a', null, null, null)")
    target = _current_lsn(conn)
    assert PostgresCDC(cfg, pg, producer, offsets).stream(until=lambda: target) == 1
    with conn.cursor() as cur:
        cur.execute("insert into reg.people values (6, 'b', null, null, null)")
    target = _current_lsn(conn)
    # a new connector instance (a restart) continues after the acknowledged position: no repeat
    assert PostgresCDC(cfg, pg, producer, offsets).stream(until=lambda: target) == 1
    assert PostgresCDC(cfg, pg, producer, offsets).snapshot() == 0
    producer.close()


def test_added_column_and_large_transaction_flow_without_stopping(pg, kafka, source, tmp_path):
    """ALTER TABLE … ADD COLUMN mid-stream: later events carry it and the raw table grows a column;
    a 30,000-row transaction arrives whole; the slot's WAL is confirmed afterwards."""
    db, conn = source
    cfg = _connector(db)
    ensure_topics(kafka.bootstrap_servers, [cfg.topic(t) for t in cfg.tables], partitions=3)
    producer = EventProducer(kafka.bootstrap_servers)
    offsets = OffsetStore(tmp_path / "offsets")
    cdc = PostgresCDC(cfg, pg, producer, offsets)
    cdc.snapshot()
    with conn.cursor() as cur:
        cur.execute("alter table reg.people add column district text")
        cur.execute("insert into reg.people (id, name, district) values (7, '钱七', '和平区')")
    conn.autocommit = False
    with conn.cursor() as cur:
        cur.execute("insert into reg.people (id, name) select g, 'bulk' from generate_series(1000, 30999) g")
    conn.commit()
    conn.autocommit = True
    target = _current_lsn(conn)
    assert cdc.stream(until=lambda: target) == 30_001
    con = duckdb.connect(str(tmp_path / "wh.duckdb"))
    sink = LandingSink(kafka.bootstrap_servers, con, [cfg], group_id=f"g-{uuid.uuid4().hex}")
    sink.drain(timeout_s=120)
    sink.close()
    view = f"raw.{db}__people__current"
    assert con.execute(f"select district from {view} where id = '7'").fetchone() == ("和平区",)
    assert con.execute(f"select count(*) from {view} where name = 'bulk'").fetchone()[0] == 30_000
    # the transaction's events share one commit position and txId
    tx = con.execute(f"select count(distinct _tx_id), count(distinct _source_seq), max(_source_seq) "
                     f"from raw.{db}__people where name = 'bulk'").fetchone()
    assert tx[:2] == (1, 1)
    # acknowledged past that commit, and confirmed to the server so its WAL can be recycled
    acked = offsets.load(cfg.name)["lsn"]
    assert acked > tx[2]
    with conn.cursor() as cur:
        cur.execute("select confirmed_flush_lsn - '0/0'::pg_lsn from pg_replication_slots where slot_name = %s",
                    (cfg.slot_name,))
        assert int(cur.fetchone()[0]) >= acked
    producer.close()
