"""What each landing DAG runs: one micro-batch of one source's topics into its raw tables, against a
real Kafka-protocol broker, on either warehouse engine; a second batch finds nothing new (the DAG then
skips and triggers no build)."""

from __future__ import annotations

import json
import uuid

import pytest
import yaml
from kafka import KafkaProducer

from citydata.errors import CityDataError
from citydata.ingest.producer import ensure_topics
from citydata.orchestration.steps import land_source
from citydata.settings import Settings, WarehouseSettings
from citydata.warehouse.engine import open_warehouse


@pytest.mark.parametrize("engine", ["duckdb", "postgres"])
def test_landing_batch_lands_new_changes_once(kafka, tmp_path, engine, request):
    name = f"land{uuid.uuid4().hex[:6]}"
    (tmp_path / "connectors").mkdir()
    (tmp_path / "connectors" / f"{name}.yaml").write_text(yaml.safe_dump({
        "name": name, "type": "postgres", "topic_prefix": name,
        "department": {"code": "x", "name_zh": "某局", "name_en": "X"}, "connection": {"database": "x"},
        "tables": [{"schema": "s", "name": "t", "primary_key": ["id"]}]}), encoding="utf-8")
    warehouse = request.getfixturevalue("pg_warehouse")(name) if engine == "postgres" else WarehouseSettings()
    settings = Settings(var_dir=tmp_path / "var", connectors_dir=tmp_path / "connectors", warehouse=warehouse,
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
    assert settings.warehouse_path.exists() == (engine == "duckdb")
    with open_warehouse(settings, read_only=True) as landed:
        assert landed.rows(f"select id, v from raw.{name}__t__current order by id") == [
            ("1", "v1"), ("2", "v2"), ("3", "v3")]


def test_landing_needs_a_kafka_to_land_from(tmp_path):
    with pytest.raises(CityDataError, match="CITYDATA_KAFKA__BOOTSTRAP_SERVERS"):
        land_source(Settings(var_dir=tmp_path, kafka={"bootstrap_servers": ""}), "tax")
