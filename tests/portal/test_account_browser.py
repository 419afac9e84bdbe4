"""Apply → steward approves → consumer downloads under the grant, and a new API key, clicked through in a real browser (Debian's Chromium,
driven by Playwright) against the demo run's portal served by uvicorn."""

from __future__ import annotations

import csv
import io
from pathlib import Path

from stdnum.cn.ric import is_valid
from tests.portal.conftest import DEMO_PASSWORD
from tests.portal.flows import PERSONS

from citydata.portal.access import open_gate

CHROMIUM = Path("/usr/bin/chromium")
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]


def test_apply_approve_download_and_create_a_key_in_a_browser(live_portal: str, portal_settings, tmp_path: Path
                                                              ) -> None:
    from playwright.sync_api import expect, sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        try:
            def signed_in(user: str, downloads: bool = False):
                page = browser.new_context(accept_downloads=downloads).new_page()
                page.goto(f"{live_portal}/login")
                page.fill("#user_id", user)
                page.fill("#password", DEMO_PASSWORD)
                page.click("form.stack button[type=submit]")
                expect(page.locator("#logout")).to_contain_text(user)
                return page

            acme = signed_in("company.acme", downloads=True)
            acme.goto(f"{live_portal}/datasets/{PERSONS}/apply")
            acme.fill("#apply-rows", "2000")
            acme.select_option("#apply-purpose", "employment_services")
            acme.click("#apply-submit")
            expect(acme.locator('#requests tr[data-status="pending"]')).to_have_count(1)

            steward = signed_in("steward.bureau")
            steward.goto(f"{live_portal}/steward")
            request_id = steward.locator("button[data-approve]").first.get_attribute("data-approve")
            steward.click(f'button[data-approve="{request_id}"]')
            expect(steward.locator(f'button[data-approve="{request_id}"]')).to_have_count(0)
            expect(steward.locator("#grants tr[data-grant]")).to_have_count(1)
            steward.screenshot(path=str(tmp_path / "steward.png"), full_page=True)

            acme.goto(f"{live_portal}/account")
            expect(acme.locator('#grants tr[data-status="active"]')).to_have_count(1)
            expect(acme.locator('#grants a[data-format="csv"]')).to_have_count(1)
            with acme.expect_download() as info:  # the consumer downloads under the grant
                acme.click('#grants a[data-format="csv"]')
            rows = list(csv.DictReader(io.StringIO(Path(info.value.path()).read_text(encoding="utf-8-sig"))))
            assert rows and all(not is_valid(r["person_id"]) for r in rows)  # pseudonyms, never ID numbers
            with open_gate(portal_settings) as gate:  # watermarked (canaries recorded) and audited
                downloads = gate.log.entries("download")
            assert len(downloads) == 1 and downloads[0]["consumer"] == "company.acme"
            assert downloads[0]["detail"]["canaries"] and downloads[0]["detail"]["grant"]
            acme.fill("#new-key-label", "browser")
            acme.click("#new-key-submit")
            expect(acme.locator("#new-key-secret")).to_contain_text("cdk_")
            acme.screenshot(path=str(tmp_path / "account.png"), full_page=True)
            acme.goto(f"{live_portal}/account")  # shown once: later the page has only the prefix
            expect(acme.locator("#new-key-secret")).to_have_count(0)
            expect(acme.locator('#keys tr[data-status="active"]')).to_have_count(1)
        finally:
            browser.close()
