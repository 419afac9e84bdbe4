"""The connect service in-process: a PostgreSQL connector and a file drop feeding one sink,
health and metrics endpoints, and a clean stop."""

from __future__ import annotations

import json
import threading
import time
import urllib.request
import uuid

import duckdb

from citydata.ingest.config import ConnectorConfig
from citydata.ingest.service import ConnectService
from citydata.settings import Settings


def _get(port: int, path: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=5) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


def test_service_streams_database_and_files_then_stops_cleanly(pg, kafka, tmp_path):
    db = f"svc{uuid.uuid4().hex[:6]}"
    pg.create_database(db)
    conn = pg.connect(db)
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute("create schema s; create table s.t (id bigint primary key, v text); "
                    "insert into s.t values (1, 'a'), (2, 'b')")
    drop_dir = tmp_path / "drop"
    drop_dir.mkdir()
    dept = {"code": "d", "name_zh": "某局", "name_en": "D"}
    database = ConnectorConfig.model_validate({
        "name": db, "type": "postgres", "topic_prefix": db, "connection": {"database": db}, "department": dept,
        "tables": [{"schema": "s", "name": "t", "primary_key": ["id"]}]})
    files = ConnectorConfig.model_validate({
        "name": f"{db}_files", "type": "file", "topic_prefix": f"{db}_files", "department": dept,
        "files": {"directory": str(drop_dir)},
        "tables": [{"schema": "drop", "name": "licences", "primary_key": ["licence_no"], "file_pattern": "lic*.csv",
                    "header_map": {"许可证号": "licence_no", "名称": "holder"},
                    "columns": {"licence_no": {"type": "varchar(20)"}, "holder": {"type": "text"}}}]})
    settings = Settings(var_dir=tmp_path / "var")
    service = ConnectService(settings, [database, files], pg, kafka.bootstrap_servers).start(metrics_port=0)
    port = service.metrics.port
    try:
        (drop_dir / "lic_2026.csv").write_text("许可证号,名称\nL-1,甲公司\nL-2,乙公司\n", encoding="gb18030")
        with conn.cursor() as cur:
            cur.execute("insert into s.t values (3, 'c')")
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            metrics = _get(port, "/metrics")[1]
            if "citydata_sink_landed_total 5" in metrics:
                break
            time.sleep(0.5)
        assert "citydata_sink_landed_total 5" in metrics, metrics
        status, body = _get(port, "/health")
        assert status == 200 and json.loads(body)["status"] == "ok"
        assert f'citydata_connector_events_total{{connector="{db}"}} 3' in metrics
        assert f'citydata_file_drop_files_total{{connector="{db}_files"}} 1' in metrics
        assert "citydata_replication_slot_lag_bytes" in metrics
        assert _get(port, "/nope")[0] == 404
    finally:
        service.stop()
    assert not any(t.is_alive() for t in service.threads)
    assert threading.active_count() < 50
    con = duckdb.connect(str(settings.warehouse_path), read_only=True)
    assert con.execute(f"select holder from raw.{db}_files__licences__current order by licence_no").fetchall() == \
        [("甲公司",), ("乙公司",)]
    assert con.execute(f"select count(*) from raw.{db}__t__current").fetchone()[0] == 3
    con.close()


def _mariadb_connector(mariadb, prefix: str, rows: list[tuple[int, str]]) -> ConnectorConfig:
    """A MariaDB database with one table ``t`` holding ``rows``, and its connector definition."""
    db = f"{prefix}{uuid.uuid4().hex[:6]}"
    mariadb.create_database(db)
    conn = mariadb.connect(db)
    with conn.cursor() as cur:
        cur.execute("create table t (id bigint primary key, v varchar(10))")
        cur.executemany("insert into t values (%s, %s)", rows)
    conn.close()
    return ConnectorConfig.model_validate({
        "name": db, "type": "mysql", "topic_prefix": db, "department": {"code": "d", "name_zh": "某局", "name_en": "D"},
        "connection": {"database": db, "host": mariadb.host, "port": mariadb.port, "user": mariadb.user,
                       "password_env": "SVC_MARIADB_PASSWORD"},
        "tables": [{"schema": db, "name": "t", "primary_key": ["id"]}]})


def test_service_runs_a_mysql_connector(mariadb, kafka, tmp_path, monkeypatch):
    monkeypatch.setenv("SVC_MARIADB_PASSWORD", mariadb.password)
    cfg = _mariadb_connector(mariadb, "svcm", [(1, "a"), (2, "b")])
    conn = mariadb.connect(cfg.name)
    settings = Settings(var_dir=tmp_path / "var")
    service = ConnectService(settings, [cfg], None, kafka.bootstrap_servers).start(metrics_port=0)

    def wait_landed(n: int) -> None:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if f"citydata_sink_landed_total {n}\n" in _get(service.metrics.port, "/metrics")[1]:
                return
            time.sleep(0.3)
        raise AssertionError(_get(service.metrics.port, "/metrics")[1])
    try:
        wait_landed(2)  # the snapshot
        with conn.cursor() as cur:
            cur.execute("update t set v = 'B' where id = 2")
            cur.execute("delete from t where id = 1")
        wait_landed(4)  # then the stream: an update and a delete
    finally:
        service.stop()
    conn.close()
    con = duckdb.connect(str(settings.warehouse_path), read_only=True)
    assert con.execute(f"select id, v from raw.{cfg.name}__t__current").fetchall() == [("2", "B")]
    con.close()



def test_no_land_streams_to_kafka_and_leaves_the_warehouse_alone(kafka, mariadb, tmp_path, monkeypatch):
    """``citydata connect run --no-land`` (compose, where Airflow lands): connectors only."""
    monkeypatch.setenv("SVC_MARIADB_PASSWORD", mariadb.password or "")
    cfg = _mariadb_connector(mariadb, "svcn", [(1, "a"), (2, "b"), (3, "c")])
    db = cfg.name
    settings = Settings(var_dir=tmp_path / "var")
    service = ConnectService(settings, [cfg], None, kafka.bootstrap_servers, land=False).start(metrics_port=0)
    try:
        deadline, metrics = time.monotonic() + 60, ""
        while time.monotonic() < deadline:
            metrics = _get(service.metrics.port, "/metrics")[1]
            if f'citydata_connector_events_total{{connector="{db}"}} 3' in metrics:
                break
            time.sleep(0.3)
        assert f'citydata_connector_events_total{{connector="{db}"}} 3' in metrics, metrics
        assert "citydata_sink_landed_total" not in metrics
        assert "sink" not in service.health()[1]
    finally:
        service.stop()
    assert not settings.warehouse_path.exists()
