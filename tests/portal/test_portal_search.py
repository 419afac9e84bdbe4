"""Discovery pages over a real demo run: search with filters and facet counts, the home page, the
dataset page as different viewers see it (masked preview, apply link, downloads), the charts' JSON,
departments, and the English switch."""

from __future__ import annotations

import html as html_text
import re
from datetime import UTC, datetime

from fastapi.testclient import TestClient
from tests.portal.conftest import sign_in

from citydata.circulation.grants import Actor
from citydata.portal.access import open_gate
from citydata.portal.present import dataset_url
from citydata.portal.serving import ServingStore

PERSONS = "warehouse.citydata.population.persons"
LEGAL = "warehouse.citydata.legal_entity.legal_entities"
SINGLE_VALUED = ("department", "category", "openness", "frequency")


def _results(html: str) -> list[str]:
    """The FQNs of the result rows, in order."""
    if 'id="search-results"' not in html:
        return []
    section = html.split('id="search-results"', 1)[1].split("</ol>", 1)[0]
    return [html_text.unescape(f) for f in re.findall(r'<li data-fqn="([^"]+)"', section)]


def _total(html: str) -> int:
    return int(re.search(r'id="result-count" data-total="(\d+)"', html).group(1))


def _facets(html: str) -> dict[str, dict[str, int]]:
    """{facet: {option value: count}} from the search form's selects."""
    found = {}
    for facet, body in re.findall(r'<div class="filter" data-facet="(\w+)">(.*?)</select>', html, re.S):
        found[facet] = {v: int(n) for v, n in re.findall(r'<option value="([^"]+)" data-count="(\d+)"', body)}
    return found


def _section(html: str, element_id: str) -> str:
    return html.split(f'id="{element_id}"', 1)[1].split("</section>", 1)[0]


def _grant(settings, consumer: Actor, dataset: str, purpose: str, rows: int) -> int:
    now = datetime.now(UTC)
    with open_gate(settings) as gate:
        request = gate.grants.request(consumer, dataset, purpose, rows=rows, downloads=1, days=30, now=now)
        return gate.grants.approve(request.id, "steward.bureau", now).id


ACME = Actor("company.acme", "registered_consumer", None, "acme")


# -- search ---------------------------------------------------------------------------------------------

def test_chinese_text_search_finds_the_population_library(portal: TestClient) -> None:
    html = portal.get("/search", params={"q": "人口综合库"}).text
    found = _results(html)
    assert found[0] == PERSONS
    assert _total(html) == len(found) < _total(portal.get("/search").text)
    # every word must match, anywhere: title and a column's Chinese description
    both = _results(portal.get("/search", params={"q": "人口综合库 手机号码"}).text)
    assert PERSONS in both and set(both) <= set(found)
    assert _results(portal.get("/search", params={"q": "人口综合库 无此词语"}).text) == []
    # column names, case-insensitively
    assert PERSONS in _results(portal.get("/search", params={"q": "EMPLOYER_USCC"}).text)
    empty = portal.get("/search", params={"q": "无此词语"}).text
    assert 'id="no-results"' in empty and _total(empty) == 0


def test_each_filter_narrows_and_facet_counts_add_up(portal: TestClient) -> None:
    everything = portal.get("/search").text
    total = _total(everything)
    facets = _facets(everything)
    assert set(facets) == {*SINGLE_VALUED, "format"}
    for facet in SINGLE_VALUED:
        assert sum(facets[facet].values()) == total, facet
    assert facets["openness"].keys() == {"open", "conditional", "closed"}
    assert facets["frequency"].keys() == {"realtime", "daily", "irregular"}
    for facet, options in facets.items():
        for value, count in options.items():
            html = portal.get("/search", params={facet: value}).text
            assert _total(html) == count < total, (facet, value)
            # the other facets count within this filter; this facet still shows every option
            narrowed = _facets(html)
            assert narrowed[facet] == options
            for other in SINGLE_VALUED:
                if other != facet:
                    assert sum(narrowed[other].values()) == count, (facet, value, other)
    # open data: the results carry the badge; the published formats include the data API
    html = portal.get("/search", params={"openness": "open", "format": "api"}).text
    rows = _results(html)
    assert LEGAL in rows and PERSONS not in rows
    for fqn in rows:
        item = html.split(f'<li data-fqn="{fqn}">', 1)[1].split("</li>", 1)[0]
        assert 'data-openness="open"' in item and 'data-format="csv"' in item
    # topics are Kafka streams, real-time
    kafka = portal.get("/search", params={"format": "kafka"}).text
    assert _results(kafka) and all(f.startswith("kafka.") for f in _results(kafka))
    assert _facets(kafka)["frequency"] == {"realtime": _total(kafka)}
    # conditional and credit: both filters at once
    both = portal.get("/search", params={"openness": "conditional", "category": "credit"}).text
    assert _total(both) == _facets(both)["openness"]["conditional"] == _facets(both)["category"]["credit"] >= 1


def test_search_pages_by_twenty(portal: TestClient) -> None:
    first = portal.get("/search").text
    total = _total(first)
    assert total > 40
    assert len(_results(first)) == 20 and 'rel="next" href="/search?page=2"' in first
    last_page = (total + 19) // 20
    last = portal.get("/search", params={"page": last_page}).text
    assert len(_results(last)) == total - 20 * (last_page - 1) and 'rel="next"' not in last
    pages = [_results(portal.get("/search", params={"page": n}).text) for n in range(1, last_page + 1)]
    assert len({f for page in pages for f in page}) == total  # no dataset twice, none left out
    assert _results(portal.get("/search", params={"page": 999}).text) == pages[-1]
    # the filters stay in the page links
    filtered = portal.get("/search", params={"frequency": "realtime"}).text
    if _total(filtered) > 20:
        assert "frequency=realtime&amp;page=2" in filtered


# -- home -----------------------------------------------------------------------------------------------

def test_home_counts_newest_and_most_used(portal: TestClient, portal_settings) -> None:
    html = portal.get("/").text
    total = _total(portal.get("/search").text)
    cards = dict(re.findall(r'data-openness="(\w+)" data-count="(\d+)"', _section(html, "openness-counts")))
    assert sum(int(n) for n in cards.values()) == total
    for level, n in cards.items():
        assert _total(portal.get("/search", params={"openness": level}).text) == int(n)
    newest = re.findall(r'<tr data-fqn="([^"]+)"', _section(html, "newest"))
    assert len(newest) == 8 and LEGAL in newest
    assert "暂无使用记录" in _section(html, "most-used")

    # uses in the audit log make a dataset "most used": the owner's reads and a grant holder's
    sign_in(portal, "steward.bureau")
    portal.get(dataset_url(PERSONS))
    used = _section(portal.get("/").text, "most-used")
    assert re.search(rf'<tr data-fqn="{PERSONS}" data-uses="1">', used)


# -- one dataset ----------------------------------------------------------------------------------------

def test_open_dataset_shows_a_masked_preview_and_downloads_to_the_public(portal: TestClient, portal_settings) -> None:
    html = portal.get(dataset_url(LEGAL)).text
    preview = _section(html, "preview-section")
    header = re.findall(r"<th>([^<]+)</th>", preview)
    assert "legal_entity_id" in header and "name" in header
    assert "legal_rep_id_number" not in header
    assert len(re.findall(r"<tr><td>", preview)) == 10
    ids = ServingStore(portal_settings.serving_path).all_rows("legal_entities")["legal_rep_id_number"].dropna()
    assert len(ids) and not any(value in html for value in ids.astype(str))
    downloads = _section(html, "downloads")
    for fmt in ("csv", "json", "parquet"):
        assert f'href="/datasets/{LEGAL}/download.{fmt}"' in downloads
    assert 'data-licence="cc-by-4.0"' in html and "普遍开放" in html
    api = _section(html, "api-example")
    assert "X-API-Key" in api and "/api/v1/datasets/legal_entity.legal_entities/rows?limit=10" in api
    assert "datastore_search" in api
    # schema: Chinese names beside the column names, grade and class tags
    schema = _section(html, "schema")
    row = schema.split('data-column="legal_rep_id_number"', 1)[1].split("</tr>", 1)[0]
    assert "法定代表人公民身份号码" in row and 'data-tag="DataGrade.L4"' in row
    assert 'data-tag="DataClassification.resident_id"' in row


def test_conditional_dataset_shows_the_apply_link_and_no_rows_to_the_public(portal: TestClient) -> None:
    html = portal.get(dataset_url(PERSONS)).text
    preview = _section(html, "preview-section")
    assert f'id="apply-link" href="/datasets/{PERSONS}/apply"' in preview
    assert "<table" not in preview and 'data-basis="none"' in preview
    assert "/download." not in html
    assert 'data-licence="grant-agreement"' in html


def test_owner_staff_see_preview_rows(portal: TestClient) -> None:
    sign_in(portal, "steward.bureau")
    html = portal.get(dataset_url(PERSONS)).text
    preview = _section(html, "preview-section")
    assert 'data-basis="owner"' in preview and "apply-link" not in preview
    assert "person_id" in re.findall(r"<th>([^<]+)</th>", preview)
    assert len(re.findall(r"<tr><td>", preview)) == 10
    assert f'href="/datasets/{PERSONS}/download.csv"' in _section(html, "downloads")


def test_grant_holder_previews_under_the_grant_and_a_refusal_is_one_line(portal: TestClient, portal_settings) -> None:
    grant = _grant(portal_settings, ACME, "population.persons", "social_assistance", rows=1000)
    sign_in(portal, "company.acme")
    html = portal.get(dataset_url(PERSONS)).text
    assert 'data-basis="grant"' in html and len(re.findall(r"<tr><td>", _section(html, "preview-section"))) == 10
    assert f"/download.csv?grant={grant}&amp;purpose=social_assistance" in _section(html, "downloads")
    # a grant too small for a preview of 10 rows: the gate's refusal, on the page, not a 500
    small = _grant(portal_settings, ACME, "credit.credit_profiles", "credit_assessment", rows=5)
    r = portal.get(dataset_url("warehouse.citydata.credit.credit_profiles"))
    assert r.status_code == 200
    refused = re.search(r'id="preview-refused">([^<]+)<', r.text)
    assert refused and f"grant {small}" in refused.group(1) and "Traceback" not in r.text


def test_closed_and_metadata_only_datasets(portal: TestClient) -> None:
    closed = portal.get(dataset_url("warehouse.citydata.governance.conflicts")).text
    assert 'data-basis="none"' in closed and "apply-link" not in closed and "/download." not in closed
    assert 'data-licence="none"' in closed
    # a department's source table shares its table name with a published mart, but has no rows here
    source = portal.get(dataset_url("departments.public_security.hukou.persons")).text
    assert "仅提供目录信息" in _section(source, "preview-section") and "/download." not in source


def test_chart_containers_and_the_json_they_load(portal: TestClient) -> None:
    html = portal.get(dataset_url(PERSONS)).text
    assert not re.search(r"<script(?![^>]*\bsrc=)", html) and not re.search(r"\son[a-z]+=", html)
    assert '<script src="/static/vendor/echarts.min.js">' in html and '<script src="/static/js/charts.js">' in html
    lineage_src = re.search(r'id="lineage-graph"[^>]*data-src="([^"]+)"', html).group(1)
    graph = portal.get(lineage_src.replace("&amp;", "&")).json()
    assert graph["entity"]["fullyQualifiedName"] == PERSONS
    directions = {n["direction"] for n in graph["nodes"]}
    assert directions == {"upstream", "downstream"} and graph["edges"]
    quality_src = re.search(r'id="quality-trend"[^>]*data-src="([^"]+)"', html).group(1)
    trend = portal.get(quality_src).json()
    assert trend["dataset"] == "population.persons" and trend["runs"]
    assert all(0 <= run["completeness"] <= 1 for run in trend["runs"])
    assert portal.get("/api/portal/quality/warehouse.citydata.nope").status_code == 404
    script = portal.get("/static/js/charts.js")
    assert script.status_code == 200 and "lineage-graph" in script.text and "quality-trend" in script.text
    # the text lists stay for readers without JavaScript
    assert 'class="upstream"' in _section(html, "lineage")


# -- departments, language ------------------------------------------------------------------------------

def test_department_pages_list_datasets(portal: TestClient) -> None:
    html = portal.get("/departments").text
    rows = re.findall(r'<tr data-department="(\w+)">.*?data-total="(\d+)"', html, re.S)
    assert sum(int(n) for _, n in rows) == _total(portal.get("/search").text)
    for name, n in rows:
        assert _total(portal.get("/search", params={"department": name}).text) == int(n)
    bureau = portal.get("/departments/data_bureau").text
    listed = re.findall(r'<tr data-fqn="([^"]+)"', _section(bureau, "department-datasets"))
    assert PERSONS in listed and LEGAL in listed and len(listed) == int(dict(rows)["data_bureau"])
    police = portal.get("/departments/public_security").text
    assert 'data-share="completeness"' in _section(police, "department-quality")
    assert portal.get("/departments/nobody").status_code == 404


def test_english_switch(portal: TestClient) -> None:
    assert "Recently updated" not in portal.get("/").text
    portal.get("/lang/en?next=/")
    home = portal.get("/").text
    assert "<h1>Data resource directory</h1>" in home and "Recently updated" in home and "最近更新" not in home
    page = portal.get(dataset_url(LEGAL)).text
    assert "Licence" in page and "<h2>Schema</h2>" in page and "Creative Commons Attribution 4.0" in page
    assert "Registered name from market regulation" in page  # the English half of the descriptions
    search = portal.get("/search", params={"q": "人口综合库"}).text
    assert "Found" in search and "Open on conditions" in search


def test_charts_draw_and_filters_submit_in_a_browser(live_portal: str) -> None:
    """Under the real CSP (no inline script): the ECharts graphs draw from their JSON, a changed filter
    submits the search form."""
    from playwright.sync_api import expect, sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium",
                                    args=["--headless", "--no-sandbox", "--disable-gpu"])
        try:
            page = browser.new_page()
            errors: list[str] = []
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            page.on("console", lambda m: errors.append(m.text) if "Content Security Policy" in m.text else None)
            page.goto(live_portal + dataset_url(LEGAL))
            for chart in ("#lineage-graph", "#quality-trend"):
                expect(page.locator(chart)).to_have_attribute("data-ready", "true", timeout=15_000)
                expect(page.locator(f"{chart} canvas")).to_have_count(1)
            page.goto(live_portal + "/search?q=" + "人口综合库")
            page.select_option("#f-openness", "conditional")
            page.wait_for_url("**openness=conditional**")
            expect(page.locator(f'#search-results li[data-fqn="{PERSONS}"]')).to_have_count(1)
            assert errors == []
        finally:
            browser.close()
