"""A malformed message goes to <topic>.dlq with the reason and origin in headers; the good ones land."""

from __future__ import annotations

import json
import uuid

import duckdb
from kafka import KafkaConsumer, KafkaProducer

from citydata.ingest.config import ConnectorConfig
from citydata.ingest.producer import ensure_topics
from citydata.ingest.sink import LandingSink


def test_poison_messages_are_dead_lettered_not_dropped(kafka, tmp_path):
    name = f"dlq{uuid.uuid4().hex[:6]}"
    cfg = ConnectorConfig.model_validate({
        "name": name, "type": "postgres", "topic_prefix": name,
        "department": {"code": "x", "name_zh": "某局", "name_en": "X"}, "connection": {"database": "x"},
        "tables": [{"schema": "s", "name": "t", "primary_key": ["id"]}]})
    topic = cfg.topic(cfg.tables[0])
    ensure_topics(kafka.bootstrap_servers, [topic, f"{topic}.dlq"], partitions=1)
    good = {"before": None, "after": {"id": 1, "v": "ok"}, "op": "c", "ts_ms": 1,
            "source": {"lsn": 100, "commit_lsn": 100, "txId": 7, "ts_ms": 1}}
    producer = KafkaProducer(bootstrap_servers=kafka.bootstrap_servers)
    producer.send(topic, key=b'{"id":1}', value=json.dumps(good).encode())
    producer.send(topic, key=b'{"id":2}', value=b"{not json")
    producer.send(topic, key=b'{"id":3}', value=json.dumps({**good, "op": "x"}).encode())
    producer.send(topic, key=None, value=json.dumps(good).encode())
    producer.flush()
    producer.close()
    con = duckdb.connect(str(tmp_path / "wh.duckdb"))
    sink = LandingSink(kafka.bootstrap_servers, con, [cfg], group_id=f"g-{uuid.uuid4().hex}")
    sink.drain(timeout_s=60)
    sink.close()
    assert sink.stats.landed == 1 and sink.stats.dead_letters == 3
    assert con.execute(f"select id, v from raw.{name}__t__current").fetchall() == [("1", "ok")]
    consumer = KafkaConsumer(f"{topic}.dlq", bootstrap_servers=kafka.bootstrap_servers,
                             auto_offset_reset="earliest", group_id=f"d-{uuid.uuid4().hex}",
                             consumer_timeout_ms=4000, session_timeout_ms=6000, heartbeat_interval_ms=1000)
    dead = list(consumer)
    consumer.close()
    reasons = [dict(m.headers)["dlq.reason"].decode() for m in dead]
    assert len(dead) == 3
    assert "not JSON" in reasons[0] and "op must be one of" in reasons[1] and "no key" in reasons[2]
    assert all(dict(m.headers)["dlq.topic"].decode() == topic for m in dead)
    assert dead[0].value == b"{not json"  # the original bytes, for replay after a fix


def test_dead_letters_are_listed_and_replayed_once_after_a_fix(kafka, tmp_path):
    from citydata.ingest.dead_letters import list_dead_letters, replay

    name = f"replay{uuid.uuid4().hex[:6]}"

    def cfg(key: str) -> ConnectorConfig:
        return ConnectorConfig.model_validate({
            "name": name, "type": "postgres", "topic_prefix": name,
            "department": {"code": "x", "name_zh": "某局", "name_en": "X"}, "connection": {"database": "x"},
            "tables": [{"schema": "s", "name": "t", "primary_key": [key]}]})
    wrong, fixed = cfg("code"), cfg("id")  # the connector was declared with the wrong key
    topic = wrong.topic(wrong.tables[0])
    ensure_topics(kafka.bootstrap_servers, [topic, f"{topic}.dlq"], partitions=1)
    producer = KafkaProducer(bootstrap_servers=kafka.bootstrap_servers)
    for i in range(3):
        event = {"before": None, "after": {"id": i, "v": f"v{i}"}, "op": "c", "ts_ms": 1,
                 "source": {"lsn": 10 + i, "commit_lsn": 10 + i, "txId": 1, "ts_ms": 1}}
        producer.send(topic, key=json.dumps({"id": i}).encode(), value=json.dumps(event).encode())
    producer.flush()
    producer.close()
    con = duckdb.connect(str(tmp_path / "wh.duckdb"))
    group = f"g-{uuid.uuid4().hex}"
    sink = LandingSink(kafka.bootstrap_servers, con, [wrong], group_id=group)
    sink.drain(timeout_s=60)
    sink.close()
    assert sink.stats.dead_letters == 3 and sink.stats.landed == 0
    letters = list_dead_letters(kafka.bootstrap_servers, [f"{topic}.dlq"])
    assert len(letters) == 3 and all("['code'] missing" in d.reason for d in letters)
    assert letters[0].origin.startswith(f"{topic}[0]@")
    assert replay(kafka.bootstrap_servers, f"{topic}.dlq", timeout_s=20) == 3
    assert replay(kafka.bootstrap_servers, f"{topic}.dlq", timeout_s=10) == 0  # each is replayed once
    sink = LandingSink(kafka.bootstrap_servers, con, [fixed], group_id=group)
    sink.drain(timeout_s=60)
    sink.close()
    assert sink.stats.landed == 3 and sink.stats.dead_letters == 0
    assert con.execute(f"select count(*) from raw.{name}__t__current").fetchone()[0] == 3
