"""What each landing DAG runs: one micro-batch of one source's topics into its raw tables, against a
real Kafka-protocol broker; a second batch finds nothing new (the DAG then skips and triggers no build)."""

from __future__ import annotations

import json
import uuid

import duckdb
import pytest
import yaml
from kafka import KafkaProducer

from citydata.errors import CityDataError
from citydata.ingest.producer import ensure_topics
from citydata.orchestration.steps import land_source
from citydata.settings import Settings


def test_landing_batch_lands_new_changes_once(kafka, tmp_path):
    name = f"land{uuid.uuid4().hex[:6]}"
    (tmp_path / "connectors").mkdir()
    (tmp_path / "connectors" / f"{name}.yaml").write_text(yaml.safe_dump({
        "name": name, "type": "postgres", "topic_prefix": name,
        "department": {"code": "x", "name_zh": "某局", "name_en": "X"}, "connection": {"database": "x"},
        "tables": [{"schema": "s", "name": "t", "primary_key": ["id"]}]}), encoding="utf-8")
    settings = Settings(var_dir=tmp_path / "var", connectors_dir=tmp_path / "connectors",
                        kafka={"bootstrap_servers": kafka.bootstrap_servers, "partitions": 1})
    settings.var_dir.mkdir()
    topic = f"{name}.s.t"
    ensure_topics(kafka.bootstrap_servers, [topic, f"{topic}.dlq"], partitions=1)
    producer = KafkaProducer(bootstrap_servers=kafka.bootstrap_servers)
    for i in (1, 2, 3):
        event = {"before": None, "after": {"id": i, "v": f"v{i}"}, "op": "c", "ts_ms": i,
                 "source": {"lsn": 100 + i, "commit_lsn": 100 + i, "txId": i, "ts_ms": i}}
        producer.send(topic, key=json.dumps({"id": i}).encode(), value=json.dumps(event).encode())
    producer.flush()
    producer.close()

    first = land_source(settings, name, budget_s=60)
    assert (first["landed"], first["dead_letters"], first["lag"]) == (3, 0, 0)
    assert land_source(settings, name, budget_s=20)["landed"] == 0
    con = duckdb.connect(str(settings.warehouse_path), read_only=True)
    try:
        assert con.execute(f"select id, v from raw.{name}__t__current order by id").fetchall() == [
            ("1", "v1"), ("2", "v2"), ("3", "v3")]
    finally:
        con.close()


def test_landing_needs_a_kafka_to_land_from(tmp_path):
    with pytest.raises(CityDataError, match="CITYDATA_KAFKA__BOOTSTRAP_SERVERS"):
        land_source(Settings(var_dir=tmp_path, kafka={"bootstrap_servers": ""}), "tax")
