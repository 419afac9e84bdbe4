"""MySQL/MariaDB binlog CDC → Kafka → DuckDB raw, against a real MariaDB, tansu and DuckDB."""

from __future__ import annotations

import json
import socket
import time
import uuid

import duckdb
import pytest
from kafka import KafkaConsumer

from citydata.errors import CityDataError
from citydata.ingest.config import ConnectorConfig
from citydata.ingest.envelope import source_position
from citydata.ingest.mysql_cdc import MySqlCDC, binlog_order
from citydata.ingest.offsets import OffsetStore
from citydata.ingest.producer import EventProducer, ensure_topics
from citydata.ingest.sink import LandingSink
from citydata.services.mariadb import EmbeddedMariaDB

from .landing import land_then_replay

PASSWORD_ENV = "CITYDATA_TEST_MYSQL_PASSWORD"


def _connector(db: str) -> ConnectorConfig:
    return ConnectorConfig.model_validate({
        "name": db, "type": "mysql", "topic_prefix": db,
        "department": {"code": "test_dept", "name_zh": "测试局", "name_en": "Test"},
        "connection": {"database": db, "password_env": PASSWORD_ENV},
        "tables": [{"schema": db, "name": "people", "primary_key": ["id"],
                    "columns": {"id": {"type": "bigint"}, "name": {"type": "varchar(50)"},
                                "born": {"type": "date"}, "score": {"type": "decimal(6,2)"},
                                "active": {"type": "boolean"}}}],
    })


@pytest.fixture
def source(mariadb, monkeypatch):
    monkeypatch.setenv(PASSWORD_ENV, mariadb.password)  # the connector reads it via read_secret
    db = f"cdc_{uuid.uuid4().hex[:8]}"
    mariadb.create_database(db)
    conn = mariadb.connect(db)
    with conn.cursor() as cur:
        cur.execute("create table people (id bigint primary key, name varchar(50), born date, "
                    "score decimal(6,2), active boolean)")
        cur.execute("insert into people values (1, '张三', '1980-01-02', 1.5, true), (2, '李四', null, 2, false)")
    yield db, conn
    conn.close()


def _read_topic(kafka, topic: str, expected: int) -> list:
    consumer = KafkaConsumer(topic, bootstrap_servers=kafka.bootstrap_servers, auto_offset_reset="earliest",
                             group_id=f"t-{uuid.uuid4().hex}", session_timeout_ms=6000, heartbeat_interval_ms=1000)
    msgs: list = []
    deadline = time.monotonic() + 30
    while len(msgs) < expected and time.monotonic() < deadline:
        for batch in consumer.poll(timeout_ms=500).values():
            msgs.extend(batch)
    msgs.extend(m for batch in consumer.poll(timeout_ms=300).values() for m in batch)  # nothing extra
    consumer.close()
    return sorted(msgs, key=lambda m: (m.partition, m.offset))


def test_insert_update_delete_become_c_u_d_with_tombstone(mariadb, kafka, source, tmp_path):
    db, conn = source
    cfg = _connector(db)
    topic = cfg.topic(cfg.tables[0])
    ensure_topics(kafka.bootstrap_servers, [topic], partitions=1)
    producer = EventProducer(kafka.bootstrap_servers)
    cdc = MySqlCDC(cfg, mariadb, producer, OffsetStore(tmp_path / "offsets"))
    assert cdc.snapshot() == 2
    with conn.cursor() as cur:
        cur.execute("insert into people values (3, '王五', '2001-03-04', 3.25, true)")
        cur.execute("update people set name = '张叁' where id = 1")
        cur.execute("delete from people where id = 2")
    target = mariadb.binlog_position()
    assert cdc.stream(until=lambda: target) == 3
    msgs = _read_topic(kafka, topic, expected=6)
    values = [json.loads(m.value) if m.value else None for m in msgs]
    assert [v["op"] if v else None for v in values] == ["r", "r", "c", "u", "d", None]
    snap, _, ins, upd, dele, _ = values
    assert snap["after"] == {"id": 1, "name": "张三", "born": "1980-01-02", "score": "1.50", "active": True}
    assert upd["before"] == snap["after"]  # a snapshot value and a streamed value print identically
    assert ins["before"] is None and ins["after"] == {"id": 3, "name": "王五", "born": "2001-03-04",
                                                      "score": "3.25", "active": True}
    assert upd["after"]["name"] == "张叁"
    assert dele["before"]["id"] == 2 and dele["after"] is None
    assert json.loads(msgs[-1].key) == {"id": 2}  # the tombstone carries the deleted key
    src = upd["source"]
    assert src["connector"] == "mysql" and src["db"] == db and src["table"] == "people" and src["txId"]
    assert src["file"].startswith("mysql-bin.") and src["gtid"] and src["snapshot"] == "false"
    assert snap["source"]["snapshot"] == "true"
    assert source_position(src)[:2] > source_position(snap["source"])[:2]  # stream sorts after the snapshot
    producer.close()


def test_sink_lands_current_state_and_replay_changes_nothing(mariadb, kafka, source, tmp_path):
    db, conn = source
    cfg = _connector(db)
    ensure_topics(kafka.bootstrap_servers, [cfg.topic(t) for t in cfg.tables], partitions=3)
    producer = EventProducer(kafka.bootstrap_servers)
    cdc = MySqlCDC(cfg, mariadb, producer, OffsetStore(tmp_path / "offsets"))
    cdc.snapshot()
    with conn.cursor() as cur:
        cur.execute("update people set score = 9 where id = 1")
        cur.execute("update people set score = 10 where id = 1")  # two changes to one row
        cur.execute("delete from people where id = 2")
        cur.execute("insert into people values (4, '赵六', null, null, null)")
    target = mariadb.binlog_position()
    cdc.stream(until=lambda: target)
    con = duckdb.connect(str(tmp_path / "wh.duckdb"))
    # 2 snapshot + 2 updates + delete + insert in the change log
    land_then_replay(kafka.bootstrap_servers, con, cfg, "people", "id, name, score",
                     [("1", "张三", "10.00"), ("4", "赵六", None)], expected_log_rows=6)
    producer.close()


def test_stream_resumes_from_stored_offset(mariadb, kafka, source, tmp_path):
    db, conn = source
    cfg = _connector(db)
    ensure_topics(kafka.bootstrap_servers, [cfg.topic(t) for t in cfg.tables], partitions=1)
    offsets = OffsetStore(tmp_path / "offsets")
    producer = EventProducer(kafka.bootstrap_servers)
    with pytest.raises(CityDataError, match="run the snapshot first"):
        MySqlCDC(cfg, mariadb, producer, offsets).stream(until=lambda: ("mysql-bin.000001", 4))
    MySqlCDC(cfg, mariadb, producer, offsets).snapshot()
    with conn.cursor() as cur:
        cur.execute("insert into people values (5, 'a', null, null, null)")
    target = mariadb.binlog_position()
    assert MySqlCDC(cfg, mariadb, producer, offsets).stream(until=lambda: target) == 1
    assert (offsets.load(db)["file"], offsets.load(db)["pos"]) == target
    with conn.cursor() as cur:
        cur.execute("create table other (id int primary key)")  # undeclared: skipped, position still advances
        cur.execute("insert into other values (1)")
        cur.execute("insert into people values (6, 'b', null, null, null)")
        cur.execute("flush binary logs")  # a rotation: the stream follows into the next file
        cur.execute("insert into people values (7, 'c', null, null, null)")
    target = mariadb.binlog_position()
    # a new connector instance (a restart) continues after the acknowledged position: no repeat, no loss
    seen: list[int] = []
    cdc = MySqlCDC(cfg, mariadb, producer, offsets)
    assert cdc.stream(until=lambda: target, on_event=seen.append) == 2 and sum(seen) == 2
    assert binlog_order(offsets.load(db)["file"], offsets.load(db)["pos"]) >= binlog_order(*target)
    assert MySqlCDC(cfg, mariadb, producer, offsets).snapshot() == 0
    again = MySqlCDC(cfg, mariadb, producer, offsets)
    assert again.stream(until=lambda: target) == 0  # nothing new
    producer.close()


def test_a_5000_row_transaction_arrives_complete(mariadb, kafka, source, tmp_path):
    db, conn = source
    cfg = _connector(db)
    ensure_topics(kafka.bootstrap_servers, [cfg.topic(t) for t in cfg.tables], partitions=3)
    producer = EventProducer(kafka.bootstrap_servers)
    cdc = MySqlCDC(cfg, mariadb, producer, OffsetStore(tmp_path / "offsets"))
    cdc.snapshot()
    conn.begin()
    with conn.cursor() as cur:
        cur.executemany("insert into people values (%s, %s, '1990-01-01', 1, false)",
                        [(i, f"人{i}") for i in range(100, 5100)])
    conn.commit()
    target = mariadb.binlog_position()
    assert cdc.stream(until=lambda: target) == 5000
    assert cdc.stats.transactions == 1
    con = duckdb.connect(str(tmp_path / "wh.duckdb"))
    sink = LandingSink(kafka.bootstrap_servers, con, [cfg], group_id=f"g-{uuid.uuid4().hex}")
    sink.drain(timeout_s=60)
    sink.close()
    n, keys, positions, txs = con.execute(
        f"select count(*), count(distinct _key), count(distinct _source_pos), count(distinct _tx_id) "
        f"from raw.{db}__people where _op = 'c'").fetchone()
    assert (n, keys, positions, txs) == (5000, 5000, 5000, 1)
    assert con.execute(f"select count(*) from raw.{db}__people__current").fetchone()[0] == 5002
    producer.close()


class _Capture:
    def __init__(self) -> None:
        self.events: list[dict] = []

    def send(self, topic: str, row: dict, primary_key: list[str], envelope: dict | None) -> None:
        self.events.append(envelope)

    def flush(self) -> None:
        pass


def test_every_type_prints_the_same_in_snapshot_and_stream(mariadb, source, tmp_path):
    db, conn = source
    cols = ("f float, d double, t time(3), ts timestamp(6) null, dtm datetime, b varbinary(8), bits bit(4), "
            "s set('x','y','z'), j json, e enum('a','b'), u int unsigned, y year, txt text, n decimal(10,4)")
    values = ("3.14159, 2.5, '-01:02:03.5', '2020-01-01 10:00:00.25', '2020-02-02 02:02:02', x'ff00', b'0101', "
              "'z,x', '{\"a\": [1, \"é\"]}', 'b', 4000000000, 2024, '长文本', -0.5")
    with conn.cursor() as cur:
        cur.execute(f"create table typed (id int primary key, {cols})")
        cur.execute(f"insert into typed values (1, {values})")
    cfg = _connector(db).model_copy(update={"tables": [
        _connector(db).tables[0].model_copy(update={"name": "typed", "columns": {}})]})
    capture = _Capture()
    cdc = MySqlCDC(cfg, mariadb, capture, OffsetStore(tmp_path / "offsets"))  # type: ignore[arg-type]
    cdc.snapshot()
    with conn.cursor() as cur:
        cur.execute(f"insert into typed values (2, {values})")
    target = mariadb.binlog_position()
    cdc.stream(until=lambda: target)
    snap, streamed = (e["after"] for e in capture.events)
    assert snap.pop("id") == 1 and streamed.pop("id") == 2
    assert snap == streamed
    assert snap == {"f": 3.14159, "d": 2.5, "t": "-01:02:03.5", "ts": "2020-01-01 10:00:00.25+00",
                    "dtm": "2020-02-02 02:02:02", "b": "\\xff00", "bits": "0101", "s": "x,z",
                    "j": '{"a": [1, "é"]}', "e": "b", "u": 4000000000, "y": 2024, "txt": "长文本", "n": "-0.5000"}


def test_embedded_server_refuses_a_busy_port_and_a_missing_secret(mariadb, source, monkeypatch, tmp_path):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        with pytest.raises(CityDataError, match="already in use"):
            EmbeddedMariaDB(port=s.getsockname()[1])
    db, _ = source
    monkeypatch.delenv(PASSWORD_ENV)
    with pytest.raises(CityDataError, match=PASSWORD_ENV):
        MySqlCDC(_connector(db), mariadb, _Capture(), OffsetStore(tmp_path / "o")).snapshot()  # type: ignore[arg-type]
