"""HTML pages: list, filter, dataset page, friendly 404, and the no-catalog page."""

from __future__ import annotations

import json
import os
from pathlib import Path

from fastapi.testclient import TestClient

from citydata.catalog import write_catalog
from citydata.portal import create_app
from citydata.portal.present import dataset_url

MART = "warehouse.citydata.marts.credit_profiles"


def test_home_page_browses_by_category_and_department(client: TestClient) -> None:
    r = client.get("/")
    assert r.status_code == 200
    html = r.text
    assert 'action="/search"' in html and 'name="q"' in html
    browse = html.split('id="browse"', 1)[1]
    for title in ("部门源系统表", "消息主题", "原始层", "标准层", "整合层", "人口综合库", "信用信息库"):
        assert title in browse
    assert browse.index("原始层") < browse.index("标准层") < browse.index("人口综合库")
    assert 'href="/departments/civil_affairs">市民政局</a>' in browse
    newest = html.split('id="newest"', 1)[1].split("</section>", 1)[0]
    assert newest.count("<tr data-fqn=") == 8 and "data-gate=" in newest


def test_search_filters_by_department(client: TestClient) -> None:
    html = client.get("/search", params={"department": "civil_affairs"}).text
    results = html.split('id="search-results"', 1)[1]
    assert "stg_civil_affairs__deaths" in results
    assert "market_regulation__enterprises" not in results
    html = client.get("/search", params={"department": "nobody"}).text
    assert 'id="no-results"' in html and 'data-total="0"' in html


def test_dataset_page_shows_schema_owner_lineage_and_gate(client: TestClient) -> None:
    r = client.get(dataset_url(MART))
    assert r.status_code == 200
    html = r.text
    assert "信用信息库" in html and "市大数据中心" in html
    assert "expect_column_values_to_match_regex" in html and ">7<" in html
    assert "subject_code" in html and "varchar(18)" in html
    lineage = html.split('id="lineage"', 1)[1].split('id="gate"', 1)[0]
    assert dataset_url("departments.court.enforcement.dishonest_debtors") in lineage
    assert dataset_url('kafka."court.enforcement.dishonest_debtors"') in lineage


def test_source_page_shows_classification_and_downstream(client: TestClient) -> None:
    html = client.get(dataset_url("departments.civil_affairs.civil.deaths")).text
    assert "resident_id" in html and "PII.Sensitive" in html and "主键" in html
    down = html.split("下游", 1)[1]
    assert down.index("civil_affairs.civil.deaths") < down.index("stg_civil_affairs__deaths") \
        < down.index("population_persons")


def test_topic_page_and_quoted_fqn(client: TestClient) -> None:
    r = client.get('/datasets/kafka."civil_affairs.civil.deaths"')
    assert r.status_code == 200 and "Debezium" in r.text


def test_unknown_dataset_is_a_friendly_404(client: TestClient) -> None:
    for url in ("/datasets/warehouse.citydata.marts.nope", "/no/such/page"):
        r = client.get(url)
        assert r.status_code == 404
        assert "未找到" in r.text and "Traceback" not in r.text and "返回数据集列表" in r.text


def test_no_catalog_yet_says_run_make_demo(tmp_path: Path) -> None:
    client = TestClient(create_app(tmp_path / "missing.json"))
    r = client.get("/")
    assert r.status_code == 503 and "make demo" in r.text and "数据目录尚未生成" in r.text
    r = client.get("/datasets/anything")
    assert "make demo" in r.text


def test_catalog_rewrite_is_picked_up(catalog_path: Path, built_catalog: dict) -> None:
    client = TestClient(create_app(catalog_path))
    assert "新数据集" not in client.get("/").text
    changed = json.loads(json.dumps(built_catalog))
    changed["tables"][0]["displayName"] = "新数据集"
    write_catalog(changed, catalog_path)
    st = catalog_path.stat()
    os.utime(catalog_path, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000))
    assert "新数据集" in client.get("/").text


def test_static_css(client: TestClient) -> None:
    r = client.get("/static/style.css")
    assert r.status_code == 200 and "gate-fail" in r.text


def test_dataset_page_shows_the_scorecard_trend(built_catalog: dict, tmp_path: Path) -> None:
    import copy

    from citydata.catalog.build import attach_scorecards

    catalog = copy.deepcopy(built_catalog)
    run = {"dataset": "marts.credit_profiles", "department": None, "rows": 100, "completeness": 0.99,
           "uniqueness": 1.0, "timeliness_hours": 2.5, "consistency": None}
    attach_scorecards(catalog["tables"], {"marts.credit_profiles": [
        {**run, "run_at": "2026-11-21T02:00:00+00:00", "validity": 0.9},
        {**run, "run_at": "2026-11-22T02:00:00+00:00", "validity": 0.975}]})
    with TestClient(create_app(write_catalog(catalog, tmp_path / "catalog.json"))) as c:
        html = c.get(dataset_url(MART)).text
    section = html.split('id="scorecard"', 1)[1].split("</section>", 1)[0]
    assert section.index('data-run="2026-11-22') < section.index('data-run="2026-11-21')  # newest first
    assert "97.5%" in section and "90.0%" in section and "2.5" in section
    with TestClient(create_app(write_catalog(built_catalog, tmp_path / "bare.json"))) as bare:
        assert "暂无质量评分" in bare.get(dataset_url(MART)).text
