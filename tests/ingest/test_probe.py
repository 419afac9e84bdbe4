"""Source probing against a real PostgreSQL: keys, counts, null rates, formats, problems."""

from __future__ import annotations

import uuid

from stdnum.cn import ric

from citydata.ingest.config import ConnectorConfig
from citydata.ingest.probe import probe, value_format


def test_probe_reports_keys_counts_nulls_formats_and_problems(pg):
    db = f"probe_{uuid.uuid4().hex[:8]}"
    pg.create_database(db)
    conn = pg.connect(db)
    conn.autocommit = True
    valid_id = "11010519491231002X"
    assert ric.is_valid(valid_id)
    with conn.cursor() as cur:
        cur.execute("create schema s; create table s.people (no bigint primary key, id_number text, mobile text, "
                    "born date, extra text)")
        cur.execute("insert into s.people select g, case when g %% 4 = 0 then null else %s end, "
                    "'1381234567' || (g %% 10), date '1990-01-01' + g, null from generate_series(1, 40) g",
                    (valid_id,))
    conn.close()
    cfg = ConnectorConfig.model_validate({
        "name": db, "type": "postgres", "topic_prefix": db, "connection": {"database": db},
        "department": {"code": "d", "name_zh": "某局", "name_en": "D"},
        "tables": [{"schema": "s", "name": "people", "primary_key": ["id_number"],
                    "columns": {"id_number": {"type": "text"}, "mobile": {"type": "text"},
                                "gone": {"type": "text"}}},
                   {"schema": "s", "name": "absent", "primary_key": ["x"]}]})
    people, absent = probe(cfg, pg)
    assert people["rows"] == 40 and people["primary_key"] == ["no"]
    cols = {c["name"]: c for c in people["columns"]}
    assert cols["id_number"]["null_rate"] == 0.25 and cols["id_number"]["formats"] == {"resident_id": 1.0}
    assert cols["mobile"]["formats"] == {"mobile": 1.0} and cols["born"]["formats"] == {"date": 1.0}
    assert cols["extra"]["null_rate"] == 1.0 and cols["no"]["declared"] is False
    problems = " | ".join(people["problems"])
    assert "declared key ['id_number']" in problems and "replica identity / binlog row image is default" in problems
    assert "['gone']" in problems
    assert absent["exists"] is False and "does not exist" in absent["problems"][0]


def test_value_formats():
    assert value_format("11010519491231002X") == "resident_id"
    assert value_format("11010519491231002") == "integer"
    assert value_format("110105491231002") == "resident_id_15"
    assert value_format("91350100M000100Y43") == "uscc"
    assert value_format("2026-11-22 09:00:00+00") == "timestamp"
    assert value_format("张 三") == "chinese_text"


def test_probe_mysql(mariadb):
    db = f"probem_{uuid.uuid4().hex[:6]}"
    mariadb.create_database(db)
    conn = mariadb.connect(db)
    with conn.cursor() as cur:
        cur.execute("create table people (no bigint primary key, id_number varchar(18), joined date)")
        cur.execute("insert into people values (1, '11010519491231002X', '2020-01-02'), (2, null, null)")
    conn.close()
    cfg = ConnectorConfig.model_validate({
        "name": db, "type": "mysql", "topic_prefix": db, "connection": {"database": db},
        "department": {"code": "d", "name_zh": "某局", "name_en": "D"},
        "tables": [{"schema": db, "name": "people", "primary_key": ["no"]}]})
    (people,) = probe(cfg, mariadb)
    assert people["rows"] == 2 and people["primary_key"] == ["no"] and people["replica_identity"] == "full"
    cols = {c["name"]: c for c in people["columns"]}
    assert cols["id_number"]["null_rate"] == 0.5 and cols["id_number"]["formats"] == {"resident_id": 1.0}
    assert cols["joined"]["formats"] == {"date": 1.0}
    assert people["problems"] == []
