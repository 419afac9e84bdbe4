"""File drops (CSV/XLSX) → Kafka → DuckDB raw, against the real broker, sink and DuckDB."""

from __future__ import annotations

import csv
import datetime as dt
import json
import re
import time
import uuid
from pathlib import Path
from types import SimpleNamespace

import duckdb
import openpyxl
import pytest
from kafka import KafkaConsumer, TopicPartition

from citydata.ingest.config import ConnectorConfig
from citydata.ingest.file_drop import FileDropConnector
from citydata.ingest.file_values import CellError, ColumnSpec, convert
from citydata.ingest.offsets import OffsetStore
from citydata.ingest.producer import EventProducer, ensure_topics
from citydata.ingest.sink import LandingSink

HEADER_MAP = {"身份证号": "id_number", "姓名": "name", "出生日期": "born", "户内人数": "household_size",
              "住址": "address", "是否有效": "active", "登记时间": "registered_at"}


def _connector(name: str, directory: Path, encoding: str = "auto") -> ConnectorConfig:
    """A sample file-drop connector definition, as it would be written in connectors/<dept>.yaml."""
    return ConnectorConfig.model_validate({
        "name": name, "type": "file", "topic_prefix": name,
        "department": {"code": "hukou", "name_zh": "公安局户政处", "name_en": "Household registration"},
        "files": {"directory": str(directory), "encoding": encoding},
        "tables": [
            {"schema": "hr", "name": "persons", "primary_key": ["id_number"], "file_pattern": "persons_*",
             "header_map": HEADER_MAP,
             "columns": {"id_number": {"type": "varchar(18)"}, "name": {"type": "varchar(64)"},
                         "born": {"type": "date"}, "household_size": {"type": "integer"},
                         "address": {"type": "varchar(200)"}, "active": {"type": "boolean"},
                         "registered_at": {"type": "timestamptz"}}},
            {"schema": "hr", "name": "entities", "primary_key": ["uscc"], "file_pattern": "法人_*.csv",
             "header_map": {"统一社会信用代码": "uscc", "名称": "name"},
             "columns": {"uscc": {"type": "varchar(18)"}, "name": {"type": "varchar(200)"}}},
        ]})


@pytest.fixture
def env(kafka, tmp_path):
    name = f"fd{uuid.uuid4().hex[:6]}"
    drop = tmp_path / "drop"
    drop.mkdir()
    cfg = _connector(name, drop)
    topics = [cfg.topic(t) + suffix for t in cfg.tables for suffix in ("", ".dlq")]
    ensure_topics(kafka.bootstrap_servers, topics, partitions=1)
    producer = EventProducer(kafka.bootstrap_servers)
    offsets = OffsetStore(tmp_path / "offsets")
    con = duckdb.connect(str(tmp_path / "wh.duckdb"))
    sink = LandingSink(kafka.bootstrap_servers, con, [cfg], group_id=f"g-{uuid.uuid4().hex}")
    e = SimpleNamespace(name=name, cfg=cfg, drop=drop, producer=producer, offsets=offsets, con=con, sink=sink,
                        rejects=tmp_path / "rejects", topic=cfg.topic(cfg.tables[0]))
    e.connector = FileDropConnector(cfg, producer, offsets, e.rejects, settle_s=0)
    e.land = lambda: sink.drain(timeout_s=60)
    e.current = lambda cols="id_number, name, born, household_size, address, active": con.execute(
        f"select {cols} from raw.{name}__persons__current order by id_number").fetchall()
    yield e
    sink.close()
    producer.close()
    con.close()


def _write_csv(path: Path, rows: list[list[str]], encoding: str) -> Path:
    path.write_bytes("".join(",".join(r) + "\r\n" for r in rows).encode(encoding))
    return path


def _read_dlq(kafka, topic: str) -> list:
    """Every message of the one-partition dead-letter topic, read by assignment (no group join)."""
    tp = TopicPartition(f"{topic}.dlq", 0)
    consumer = KafkaConsumer(bootstrap_servers=kafka.bootstrap_servers, enable_auto_commit=False)
    consumer.assign([tp])
    consumer.seek_to_beginning(tp)
    end, msgs, deadline = consumer.end_offsets([tp])[tp], [], time.monotonic() + 20
    while consumer.position(tp) < end and time.monotonic() < deadline:
        for batch in consumer.poll(timeout_ms=500).values():
            msgs.extend(batch)
    consumer.close()
    return msgs


GOOD = [["\u3000身份证号 ", "姓名", "出生日期", "户内人数", "住址", "是否有效", "登记时间"],
        ["110101199001021234", "张三", "1990/1/2", "3", "北京市东城区东华门街道1号", "是", "2024/5/6 8:30"],
        ["110101199103041235", "李四", "1991年3月4日", "", "", "否", ""],
        ["11010119920506123X", "王五", "1992-05-06", "1", "北京市西城区", "1", "2024-05-06 09:00:00"]]


def test_gb18030_csv_with_chinese_headers_lands_as_utf8_text(env):
    _write_csv(env.drop / "persons_20240506.csv", GOOD, "gb18030")
    result = env.connector.scan()
    [report] = result.files
    assert (report.status, report.table, report.encoding) == ("ingested", "persons", "gb18030")
    assert report.rows_accepted == 3 and report.rows_rejected == [] and report.warnings == []
    assert (env.drop / "processed" / "persons_20240506.csv").exists()
    env.land()
    assert env.current() == [
        ("110101199001021234", "张三", "1990-01-02", "3", "北京市东城区东华门街道1号", "true"),
        ("110101199103041235", "李四", "1991-03-04", None, None, "false"),
        ("11010119920506123X", "王五", "1992-05-06", "1", "北京市西城区", "true")]
    assert env.current("registered_at, _source_pos, _op")[0] == (
        "2024-05-06 08:30:00+08", "persons_20240506.csv:2", "r")

    # the same content under another name: nothing sent, reported as a duplicate, warehouse unchanged
    before = env.con.execute(f"select count(*) from raw.{env.name}__persons").fetchone()
    sent = env.producer.sent
    _write_csv(env.drop / "persons_20240506 (1).csv", GOOD, "gb18030")
    [dup] = env.connector.scan().files
    assert dup.duplicate and dup.duplicate_of == "persons_20240506.csv" and dup.rows_accepted == 0
    assert env.producer.sent == sent
    env.land()
    assert env.con.execute(f"select count(*) from raw.{env.name}__persons").fetchone() == before


def test_department_csv_with_bad_rows_wrong_encoding_and_missing_column(env, kafka):
    header = ["身份证号", "姓名", "出生日期", "户内人数", "是否有效"]  # 住址 and 登记时间 missing
    lines = [",".join(header).encode("gbk"),
             "110101199001021234,张三,1990/1/2,3,是".encode("gbk"),
             "110101199001021235,李四,1990/13/45,2,是".encode("gbk"),      # line 3: no such date
             "110101199001021236,王五,1990/1/3,三,是".encode("gbk"),       # line 4: not an integer
             ",赵六,1990/1/4,1,是".encode("gbk"),                          # line 5: key empty
             "110101199001021237,孙七,1990/1/5,1".encode("gbk"),           # line 6: one field short
             b"110101199001021238,\xff\xfe,1990/1/6,1,\xca\xc7",          # line 7: bytes not GB18030
             "110101199001021239,周八,1990-01-07,2,否".encode("gbk")]
    (env.drop / "persons_dept.csv").write_bytes(b"\r\n".join(lines) + b"\r\n")
    _write_csv(env.drop / "persons_nokey.csv", [["姓名", "出生日期"], ["张三", "1990/1/2"]], "gbk")
    result = env.connector.scan()
    by_name = {f.file: f for f in result.files}
    dept, nokey = by_name["persons_dept.csv"], by_name["persons_nokey.csv"]

    assert (dept.encoding, dept.rows_accepted) == ("gb18030", 2)
    reasons = {r.line: r.reason for r in dept.rows_rejected}
    assert sorted(reasons) == [3, 4, 5, 6, 7]
    assert "born '1990/13/45' is not a valid date" in reasons[3]
    assert "household_size '三' is not an integer" in reasons[4]
    assert "primary key id_number is empty" in reasons[5]
    assert "4 fields but the header has 5" in reasons[6]
    assert "bytes ff" in reasons[7] and "not valid gb18030" in reasons[7]
    assert any("'address'" in w and "null in every row" in w for w in dept.warnings)
    with open(dept.rejects_file, encoding="utf-8-sig", newline="") as f:
        rows = list(csv.DictReader(f))
    assert [int(r["line"]) for r in rows] == [3, 4, 5, 6, 7]
    assert rows[0]["original_line"] == "110101199001021235,李四,1990/13/45,2,是"

    dead = _read_dlq(kafka, env.topic)
    assert len(dead) == 5
    headers = [dict(m.headers) for m in dead]
    assert [h["dlq.origin"].decode() for h in headers] == [f"persons_dept.csv:{n}" for n in (3, 4, 5, 6, 7)]
    assert "not a valid date" in headers[0]["dlq.reason"].decode()
    assert all(h["dlq.topic"].decode() == env.topic and h["dlq.source"] == b"file-drop" for h in headers)
    assert dead[1].value.decode() == "110101199001021236,王五,1990/1/3,三,是"

    assert nokey.status == "rejected" and "\n" not in nokey.reason
    assert "primary key column 'id_number' missing" in nokey.reason and "header_map" in nokey.reason
    assert (env.drop / "rejected" / "persons_nokey.csv").exists()
    assert (env.drop / "rejected" / "persons_nokey.csv.reason.txt").read_text(encoding="utf-8").strip() == nokey.reason

    env.land()
    assert env.current() == [("110101199001021234", "张三", "1990-01-02", "3", None, "true"),
                              ("110101199001021239", "周八", "1990-01-07", "2", None, "false")]


def test_xlsx_export_lands(env):
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["2024年常住人口登记表"])  # a title row above the header
    ws.append(["身份证号", "姓名", "出生日期", "户内人数", "住址", "是否有效", "登记时间"])
    ws.append(["110101199001021234", "张三", dt.datetime(1990, 1, 2), 3, "北京市", True, dt.datetime(2024, 5, 6, 8, 30)])
    ws.append(["110101199103041235", "李四", "1991年3月4日", 2.0, None, "否"])
    wb.save(env.drop / "persons_2024.xlsx")
    [report] = env.connector.scan().files
    assert (report.status, report.encoding, report.rows_accepted, report.rows_rejected) == ("ingested", "xlsx", 2, [])
    assert report.warnings == ["skipped 1 line(s) above the header on line 2"]
    env.land()
    assert env.current() == [("110101199001021234", "张三", "1990-01-02", "3", "北京市", "true"),
                              ("110101199103041235", "李四", "1991-03-04", "2", None, "false")]
    assert env.current("_source_pos, registered_at")[0] == ("persons_2024.xlsx:3", "2024-05-06 08:30:00+08")


def test_file_matching_no_table_is_rejected_with_reason(env):
    _write_csv(env.drop / "unknown_export.csv", [["a", "b"], ["1", "2"]], "utf-8")
    [report] = env.connector.scan().files
    assert report.status == "rejected" and report.table is None
    assert "matches no table's file_pattern" in report.reason and "persons_*" in report.reason
    assert (env.drop / "rejected" / "unknown_export.csv").exists()
    assert not (env.drop / "unknown_export.csv").exists()

    # declared UTF-8 but exported as GBK: the header cannot be read, so the whole file is rejected
    utf8 = env.cfg.model_copy(update={"files": env.cfg.files.model_copy(update={"encoding": "utf-8"})})
    _write_csv(env.drop / "persons_gbk.csv", GOOD, "gbk")
    [report] = FileDropConnector(utf8, env.producer, env.offsets, env.rejects, settle_s=0).scan().files
    assert report.status == "rejected" and "not valid utf-8" in report.reason and "files.encoding" in report.reason


@pytest.mark.parametrize(("text", "declared", "landed"), [
    ("2020/1/2", "date", "2020-01-02"), ("2020年1月2日", "date", "2020-01-02"), ("20200102", "date", "2020-01-02"),
    ("2020/1/2 0:00:00", "date", "2020-01-02"), ("\u3000", "varchar(8)", None), ('="0123"', "varchar(8)", "0123"),
    ("３", "integer", 3), ("3.0", "bigint", 3), ("是", "boolean", True), ("1.5", "double precision", 1.5),
    ("2024/5/6 8:30", "timestamptz", "2024-05-06 08:30:00+08"), ("1.50", "numeric(6,2)", "1.50"),
    ("2020/2/30", "date", CellError("not a valid date")), ("x", "integer", CellError("not an integer")),
    ("123456789", "varchar(8)", CellError("more than varchar(8) allows")),
])
def test_cell_values_take_the_database_representation(text, declared, landed):
    col = ColumnSpec("c", declared)
    if isinstance(landed, CellError):
        with pytest.raises(CellError, match=re.escape(str(landed))):
            convert(text, col)
    else:
        assert convert(text, col) == landed


class _CrashBeforeDone(OffsetStore):
    """Fails the save that would mark a file done: a crash after sending, before recording."""

    def save(self, connector: str, offset: dict) -> None:
        if any(f["status"] == "done" for f in offset.get("files", {}).values()):
            raise RuntimeError("crash")
        super().save(connector, offset)


def test_crash_after_sending_replays_with_the_same_positions(env):
    crashing = FileDropConnector(env.cfg, env.producer, _CrashBeforeDone(env.offsets.directory), env.rejects,
                                 settle_s=0)
    _write_csv(env.drop / "persons_a.csv", GOOD, "utf-8")
    with pytest.raises(RuntimeError):
        crashing.scan()
    assert (env.drop / "persons_a.csv").exists()  # not moved: still to do
    env.land()
    [report] = env.connector.scan().files  # restart: same file_seq, same lines → the sink ignores them
    assert report.status == "ingested" and report.file_seq == 1
    env.land()
    assert env.con.execute(f"select count(*), min(_source_seq), max(_source_seq) from raw.{env.name}__persons"
                           ).fetchone() == (3, 1, 1)
    state = env.offsets.load(env.name)
    assert state["next_file_seq"] == 2 and json.dumps(state).count('"done"') == 1
