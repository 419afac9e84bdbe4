"""The steward console and the admin audit page on the portal of a real demo run: per-department
views, per-object decisions, CSRF on every form, role checks, and the audit log's verification."""

from __future__ import annotations

import re
import sqlite3
from datetime import UTC, datetime

import duckdb
from tests.portal import flows
from tests.portal.flows import PERSONS, apply, csrf, grants_of, one_line_error, requests_of

from citydata.catalog.store import get_entity, read_catalog
from citydata.circulation.context import open_audit_log
from citydata.portal.access import released
from citydata.portal.accounts import AccountStore
from citydata.portal.serving import ServingStore

as_user_fixture = flows.as_user_fixture  # the as_user fixture


def _decide(client, path: str, **form: str):
    return client.post(path, data={"csrf_token": csrf(client, "/steward"), **form}, follow_redirects=False)


def _approved_grant(as_user, settings, **values: object):
    """company.acme applies for population.persons and steward.bureau approves: the grant."""
    assert apply(as_user("company.acme"), **values).status_code == 303
    request = requests_of(settings)[-1]
    assert _decide(as_user("steward.bureau"), f"/steward/requests/{request.id}/approve").status_code == 303
    return grants_of(settings)[-1]


def _department_facts(settings, department: str) -> tuple[int, set[str], dict[str, int]]:
    """Straight from the serving file: open conflicts, conflict ids and quarantined rows per table."""
    con = duckdb.connect(str(settings.serving_path), read_only=True)
    try:
        open_ = con.execute("select count(*) from published.conflicts where department_to_fix = ? and is_open",
                            [department]).fetchone()[0]
        ids = {r[0] for r in con.execute("select conflict_id from published.conflicts where department_to_fix = ?",
                                         [department]).fetchall()}
        tables = [t for (t,) in con.execute("select table_name from duckdb_tables() where schema_name = 'quarantine'")
                  .fetchall()]
        quarantined = {}
        for table in tables:
            n = con.execute(f'select count(*) from quarantine."{table}" where _department = ?', [department]).fetchone()[0]
            if n:
                quarantined[table] = n
    finally:
        con.close()
    return open_, ids, quarantined


def test_a_steward_sees_only_their_departments_conflicts_and_quarantine(as_user, portal_settings) -> None:
    pages = {dept: as_user(f"steward.{dept}").get("/steward") for dept in ("hrss", "health")}
    facts = {dept: _department_facts(portal_settings, dept) for dept in pages}
    for dept, page in pages.items():
        assert page.status_code == 200
        for section in ("requests", "grants", "conflicts", "quarantine", "usage"):
            assert f'<section id="{section}">' in page.text
        open_, ids, quarantined = facts[dept]
        other = next(d for d in facts if d != dept)
        assert open_ > 0 and quarantined, f"the demo run should give {dept} conflicts and quarantined rows"
        assert f'id="conflicts-open">{open_}<' in page.text
        shown = set(re.findall(r'data-conflict="([^"]+)"', page.text))
        assert shown and shown <= ids and not shown & facts[other][1]
        listed = dict(re.findall(r'data-quarantine-table="([^"]+)">\s*<h3><code>[^<]+</code> <span class="badge" '
                                 r'data-quarantine-count="(\d+)"', page.text))
        assert {t: int(n) for t, n in listed.items()} == quarantined


def test_reject_with_a_reason_and_revoke_only_in_the_own_department(as_user, portal_settings) -> None:
    acme, bureau, hrss = as_user("company.acme"), as_user("steward.bureau"), as_user("steward.hrss")
    assert apply(acme).status_code == 303
    [request] = requests_of(portal_settings)
    blank = _decide(bureau, f"/steward/requests/{request.id}/reject", reason="   ")
    assert blank.status_code == 422 and requests_of(portal_settings)[0].status == "pending"
    assert _decide(bureau, f"/steward/requests/{request.id}/reject", reason="purpose unclear").status_code == 303
    assert (requests_of(portal_settings)[0].status, requests_of(portal_settings)[0].reason) == ("rejected",
                                                                                              "purpose unclear")
    assert "purpose unclear" in acme.get("/account").text
    again = _decide(bureau, f"/steward/requests/{request.id}/approve")
    assert again.status_code == 400 and "already rejected" in one_line_error(again.text)

    grant = _approved_grant(as_user, portal_settings)
    assert f'data-revoke-grant="{grant.id}"' in bureau.get("/steward").text
    assert f'data-revoke-grant="{grant.id}"' not in hrss.get("/steward").text
    foreign = _decide(hrss, f"/steward/grants/{grant.id}/revoke", reason="not ours")
    assert foreign.status_code == 403 and grants_of(portal_settings)[-1].revoked_at is None
    assert _decide(bureau, f"/steward/grants/{grant.id}/revoke", reason="contract ended").status_code == 303
    assert grants_of(portal_settings)[-1].revoke_reason == "contract ended"
    assert f'data-grant="{grant.id}" data-status="revoked"' in acme.get("/account").text
    missing = _decide(bureau, "/steward/requests/999/approve")
    assert missing.status_code == 404


def test_the_steward_sees_the_use_of_own_datasets_from_the_audit_log(as_user, portal_settings) -> None:
    grant = _approved_grant(as_user, portal_settings, purpose="social_assistance")
    catalog = read_catalog(portal_settings.catalog_path)
    with AccountStore(portal_settings.accounts_path) as store:
        actor = store.user("company.acme").actor
    out = released(portal_settings, ServingStore(portal_settings.serving_path), get_entity(catalog, PERSONS), actor,
                   now=datetime.now(UTC), limit=7, purpose="social_assistance", grant_id=grant.id)
    assert len(out.rows) == 7

    page = as_user("steward.bureau").get("/steward").text
    usage = page[page.index('<section id="usage">'):]
    total = re.search(r'data-usage-dataset="population.persons">.*?</tr>', usage, re.S).group(0)
    consumer = re.search(r'data-usage-consumer="company.acme">.*?</tr>', usage, re.S).group(0)
    for row in (total, consumer):
        assert re.findall(r'class="num">([\d,]+)<', row) == ["1", "7", "0"]  # uses, rows, downloads
    mine = as_user("company.acme").get("/account").text
    assert re.search(rf'data-grant="{grant.id}".*?class="num">7 / 1,000</td>', mine, re.S)


def test_every_form_without_its_csrf_token_is_refused_and_changes_nothing(as_user, portal_settings) -> None:
    acme, bureau = as_user("company.acme"), as_user("steward.bureau")
    grant = _approved_grant(as_user, portal_settings)
    assert apply(acme).status_code == 303
    pending = requests_of(portal_settings)[-1]
    acme.post("/account/keys", data={"label": "k", "csrf_token": csrf(acme)})
    with AccountStore(portal_settings.accounts_path) as store:
        [key] = store.keys(store.user("company.acme"))

    def state():
        with AccountStore(portal_settings.accounts_path) as store, open_audit_log(portal_settings) as log:
            keys = store.keys(store.user("company.acme"))
            return requests_of(portal_settings), grants_of(portal_settings), keys, len(log.raw_entries())

    before = state()
    posts = [(acme, f"/datasets/{PERSONS}/apply", {"purpose": "social_assistance", "rows": 10, "downloads": 0,
                                                  "days": 1}),
             (acme, "/account/keys", {"label": "forged"}),
             (acme, f"/account/keys/{key.id}/revoke", {}),
             (bureau, f"/steward/requests/{pending.id}/approve", {}),
             (bureau, f"/steward/requests/{pending.id}/reject", {"reason": "forged"}),
             (bureau, f"/steward/grants/{grant.id}/revoke", {"reason": "forged"})]
    for client, path, form in posts:
        for token in ({}, {"csrf_token": "forged"}):
            response = client.post(path, data={**form, **token}, follow_redirects=False)
            assert response.status_code == 403, (path, token)
            assert "Traceback" not in response.text
    assert state() == before


def test_roles_and_sign_in_guard_the_steward_and_admin_pages(as_user) -> None:
    acme, steward, admin, anonymous = (as_user("company.acme"), as_user("steward.bureau"), as_user("admin"),
                                       as_user(None))
    for client, path in ((acme, "/steward"), (acme, "/admin/audit"), (acme, "/admin/audit/verify.json"),
                         (steward, "/admin/audit"), (admin, "/steward")):
        response = client.get(path)
        assert response.status_code == 403 and "Traceback" not in response.text, (path, response.status_code)
    for path in ("/steward", "/admin/audit"):
        response = anonymous.get(path, follow_redirects=False)
        assert response.status_code == 303 and response.headers["location"] == f"/login?next=%2F{path[1:].replace('/', '%2F')}"


def test_the_admin_sees_the_audit_log_verified_and_filters_it(as_user, portal_settings) -> None:
    grant = _approved_grant(as_user, portal_settings)
    admin = as_user("admin")
    admin.get("/lang/en?next=/")
    page = admin.get("/admin/audit").text
    assert 'id="audit-verify" data-ok="true"' in page and "verified" in page
    assert re.findall(r'data-seq="(\d+)" data-action="(\w+)"', page) == [("2", "grant"), ("1", "approve"),
                                                                        ("0", "request")]
    assert f"&#34;grant&#34;: {grant.id}" in page or f'"grant": {grant.id}' in page
    only = admin.get("/admin/audit", params={"action": "approve"}).text
    assert re.findall(r'data-action="(\w+)"', only) == ["approve"]
    by_steward = admin.get("/admin/audit", params={"actor": "steward.bureau"}).text
    assert re.findall(r'data-action="(\w+)"', by_steward) == ["grant", "approve"]
    assert admin.get("/admin/audit/verify.json").json()["ok"] is True

    with open_audit_log(portal_settings) as log:
        for i in range(60):
            log.append("publish", "pipeline", dataset=f"x.t{i}")
    first = admin.get("/admin/audit").text
    seqs = [int(s) for s in re.findall(r'data-seq="(\d+)"', first)]
    assert len(seqs) == 50 and seqs[0] == 62 and seqs == sorted(seqs, reverse=True) and 'id="audit-next"' in first
    second = admin.get("/admin/audit", params={"page": 2}).text
    assert [int(s) for s in re.findall(r'data-seq="(\d+)"', second)] == list(range(12, -1, -1))

    # an entry edited behind the log's back: the page names the failure in one line
    db = sqlite3.connect(log.path)
    db.execute("drop trigger entries_no_update")
    db.execute("update entries set entry = replace(entry, 'x.t5', 'x.t6') where seq = 8")
    db.commit()
    db.close()
    tampered = admin.get("/admin/audit").text
    assert 'data-ok="false"' in tampered and one_line_error(tampered, "audit-verify-problem")
    report = admin.get("/admin/audit/verify.json").json()
    assert report["ok"] is False and report["problems"]
