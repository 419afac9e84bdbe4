"""A real browser (Debian's Chromium, driven by Playwright) against the portal served by uvicorn."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import uvicorn

from citydata.portal import create_app

CHROMIUM = Path("/usr/bin/chromium")
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]

pytestmark = pytest.mark.skipif(
    not CHROMIUM.exists(), reason="Debian's chromium is not installed: apt-get install -y chromium")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def portal_url(catalog_path: Path) -> Iterator[str]:
    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(create_app(catalog_path), host="127.0.0.1", port=port,
                                           log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def test_browse_list_then_dataset_lineage_and_gate(portal_url: str, tmp_path: Path) -> None:
    from playwright.sync_api import expect, sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        try:
            page = browser.new_page()
            page.goto(portal_url + "/")
            expect(page.locator("h1")).to_contain_text("数据资源目录")
            row = page.locator('tr[data-fqn="warehouse.citydata.marts.credit_profiles"]')
            expect(row.locator("[data-gate]")).to_have_text("未通过")
            page.screenshot(path=str(tmp_path / "list.png"), full_page=True)

            row.locator("a.dataset-link").click()
            page.wait_for_url("**/datasets/warehouse.citydata.marts.credit_profiles")
            expect(page.locator("h1")).to_contain_text("信用信息库")
            expect(page.locator("#gate [data-gate]")).to_have_text("未通过")
            upstream = page.locator("#lineage ol.upstream")
            expect(upstream).to_contain_text("失信被执行人名单")  # the court's source table
            expect(upstream).to_contain_text('kafka."court.enforcement.dishonest_debtors"')
            page.screenshot(path=str(tmp_path / "dataset.png"), full_page=True)

            # follow lineage upstream to the department source and back down to the staging model
            upstream.get_by_role("link", name="失信被执行人名单", exact=True).click()
            expect(page.locator("#owner")).to_contain_text("市中级人民法院")
            expect(page.locator("#lineage ol.downstream")).to_contain_text("stg_court__dishonest_debtors")

            page.goto(portal_url + "/datasets/warehouse.citydata.marts.nope")
            expect(page.locator("h1")).to_contain_text("未找到")
        finally:
            browser.close()
