"""A real browser (Debian's Chromium, driven by Playwright) against the portal served by uvicorn:
search → dataset → download; a public user blocked from restricted data; lineage on the fixture
catalog. (Apply → approve → download: test_account_browser.py.) Screenshots are kept under
``var/test-artifacts/portal/`` (git-ignored) for the last run."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest
from tests.portal.conftest import serve_in_thread

from citydata.portal import create_app
from citydata.settings import PROJECT_ROOT

CHROMIUM = Path("/usr/bin/chromium")
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]
OPEN_DATASET = "warehouse.citydata.legal_entity.legal_entities"
PERSONS = "warehouse.citydata.population.persons"
SHOTS = PROJECT_ROOT / "var" / "test-artifacts" / "portal"


@pytest.fixture
def shots(request: pytest.FixtureRequest) -> Path:
    """Where this test's screenshots go (kept after the run)."""
    folder = SHOTS / request.node.name
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.fixture
def browser() -> Iterator:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture
def fixture_portal(catalog_path: Path) -> Iterator[str]:
    yield from serve_in_thread(create_app(catalog_path))


def _published_rows(settings, table: str) -> int:
    con = duckdb.connect(str(settings.serving_path), read_only=True)
    try:
        return con.execute(f"select count(*) from published.{table}").fetchone()[0]
    finally:
        con.close()


def test_search_then_dataset_then_download_as_the_public(live_portal: str, portal_settings, browser,
                                                         shots: Path) -> None:
    from playwright.sync_api import expect

    page = browser.new_context(accept_downloads=True).new_page()
    page.goto(live_portal + "/")
    page.fill("#q", "法人综合库")
    page.keyboard.press("Enter")
    page.wait_for_url("**/search?**")
    result = page.locator(f'#search-results li[data-fqn="{OPEN_DATASET}"]')
    expect(result).to_have_count(1)
    page.screenshot(path=str(shots / "search.png"), full_page=True)

    result.locator("a.dataset-link").click()
    page.wait_for_url(f"**/datasets/{OPEN_DATASET}")
    expect(page.locator("h1")).to_contain_text("法人综合库")
    expect(page.locator("#preview table.preview tbody tr")).to_have_count(10)
    header = page.locator("#preview table.preview thead").inner_text()
    assert "name" in header and "legal_rep_id_number" not in header and "legal_rep_name" not in header
    expect(page.locator("#lineage-graph canvas").first).to_be_visible()  # ECharts drew the graph
    page.screenshot(path=str(shots / "dataset.png"), full_page=True)

    with page.expect_download() as info:
        page.click('#downloads a[data-format="csv"]')
    download = info.value
    assert download.suggested_filename.endswith(".csv")
    text = Path(download.path()).read_text(encoding="utf-8-sig")
    rows = list(csv.DictReader(io.StringIO(text)))
    assert len(rows) == _published_rows(portal_settings, "legal_entities")
    assert "legal_rep_id_number" not in rows[0] and rows[0]["name"]


def test_public_user_is_blocked_from_restricted_data(live_portal: str, browser, shots: Path) -> None:
    from playwright.sync_api import expect

    page = browser.new_page()
    page.goto(f"{live_portal}/datasets/{PERSONS}")
    expect(page.locator("#openness")).to_contain_text("有条件开放")
    expect(page.locator("#preview table.preview")).to_have_count(0)
    expect(page.locator("#downloads a.download")).to_have_count(0)
    expect(page.locator("#apply-link")).to_be_visible()
    page.screenshot(path=str(shots / "persons-public.png"), full_page=True)

    response = page.goto(f"{live_portal}/datasets/{PERSONS}/download.csv")  # typed in by hand
    assert response is not None and response.status == 403
    body = page.locator("main").inner_text()
    assert "有条件开放" in body and "Traceback" not in body
    page.screenshot(path=str(shots / "download-refused.png"), full_page=True)

    api = page.request.get(f"{live_portal}/api/v1/datasets/population.persons/rows?limit=5")
    assert api.status == 403 and "rows" not in api.json()

    page.click("#nav-login")  # applying needs an account
    expect(page.locator("h1")).to_contain_text("登录")


def test_lineage_on_the_fixture_catalog(fixture_portal: str, browser, shots: Path) -> None:
    from playwright.sync_api import expect

    page = browser.new_page()
    page.goto(fixture_portal + "/search?q=credit_profiles")
    expect(page.locator("h1")).to_contain_text("数据目录")
    row = page.locator('li[data-fqn="warehouse.citydata.marts.credit_profiles"]')
    expect(row.locator("[data-gate]")).to_have_text("未通过")
    row.locator("a.dataset-link").click()
    page.wait_for_url("**/datasets/warehouse.citydata.marts.credit_profiles")
    expect(page.locator("h1")).to_contain_text("信用信息库")
    expect(page.locator("#gate [data-gate]")).to_have_text("未通过")
    upstream = page.locator("#lineage ol.upstream")
    expect(upstream).to_contain_text("失信被执行人名单")  # the court's source table
    expect(upstream).to_contain_text('kafka."court.enforcement.dishonest_debtors"')
    page.screenshot(path=str(shots / "lineage.png"), full_page=True)

    upstream.get_by_role("link", name="失信被执行人名单", exact=True).click()
    expect(page.locator("#owner")).to_contain_text("市中级人民法院")
    expect(page.locator("#lineage ol.downstream")).to_contain_text("stg_court__dishonest_debtors")

    page.goto(fixture_portal + "/datasets/warehouse.citydata.marts.nope")
    expect(page.locator("h1")).to_contain_text("未找到")
