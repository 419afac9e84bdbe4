"""Applying for access, the account page and API keys, on the portal of a real demo run: the grant
store and the account store the pages write are read back to check what happened."""

from __future__ import annotations

import re

from tests.portal import flows
from tests.portal.flows import OPEN_DATASET, PERSONS, apply, csrf, grants_of, one_line_error, requests_of

from citydata.circulation.usage import load_usage
from citydata.portal.accounts import AccountStore

as_user_fixture = flows.as_user_fixture  # the as_user fixture


def test_apply_then_only_the_owning_departments_steward_decides(as_user, portal_settings) -> None:
    acme, hrss, bureau = as_user("company.acme"), as_user("steward.hrss"), as_user("steward.bureau")
    usage = load_usage(portal_settings.circulation.policies_dir)
    offer = usage.datasets["population.persons"]

    form = acme.get(f"/datasets/{PERSONS}/apply")
    assert form.status_code == 200 and 'id="apply-submit"' in form.text
    for purpose in offer.purposes:  # the offer's purposes, with their Chinese labels
        assert f'value="{purpose}"' in form.text and usage.purposes[purpose] in form.text
    for field, most in (("rows", offer.max_rows), ("downloads", offer.max_downloads), ("days", offer.max_days)):
        assert re.search(rf'id="apply-{field}"[^>]*value="{most}"', form.text), field

    applied = apply(acme, purpose="employment_services", rows=500, downloads=1, days=7)
    assert applied.status_code == 303 and applied.headers["location"].startswith("/account")
    [request] = requests_of(portal_settings)
    assert (request.consumer, request.dataset, request.purpose, request.rows, request.downloads, request.days,
            request.status) == ("company.acme", "population.persons", "employment_services", 500, 1, 7, "pending")
    assert f'data-request="{request.id}" data-status="pending"' in acme.get("/account").text

    # hrss does not own population.persons: the request is not listed, and deciding it is refused
    assert f'data-approve="{request.id}"' not in hrss.get("/steward").text
    refused = hrss.post(f"/steward/requests/{request.id}/approve", data={"csrf_token": csrf(hrss, "/steward")},
                        follow_redirects=False)
    assert refused.status_code == 403 and "data_bureau" in one_line_error(refused.text)
    rejected = hrss.post(f"/steward/requests/{request.id}/reject",
                         data={"csrf_token": csrf(hrss, "/steward"), "reason": "not ours"}, follow_redirects=False)
    assert rejected.status_code == 403
    assert requests_of(portal_settings)[0].status == "pending" and grants_of(portal_settings) == []

    assert f'data-approve="{request.id}"' in bureau.get("/steward").text
    approved = bureau.post(f"/steward/requests/{request.id}/approve", data={"csrf_token": csrf(bureau, "/steward")},
                           follow_redirects=False)
    assert approved.status_code == 303
    [grant] = grants_of(portal_settings)
    assert (grant.consumer, grant.granted_by, grant.request_id) == ("company.acme", "steward.bureau", request.id)

    page = acme.get("/account").text
    assert f'data-grant="{grant.id}" data-status="active"' in page
    assert f'data-request="{request.id}" data-status="approved"' in page
    assert grant.not_after[:16].replace("T", " ") in page
    assert f"download.csv?grant={grant.id}&amp;purpose=employment_services" in page
    assert "0 / 500</td>" in page and "0 / 1</td>" in page  # rows and downloads used so far, from the audit log


def test_the_account_page_lists_only_my_requests(as_user, portal_settings) -> None:
    acme, analyst = as_user("company.acme"), as_user("analyst.bureau")
    assert apply(analyst, purpose="public_health_research").status_code == 303
    assert apply(acme).status_code == 303
    mine, theirs = sorted(requests_of(portal_settings), key=lambda r: r.consumer != "company.acme")
    page = acme.get("/account").text
    assert f'data-request="{mine.id}"' in page and f'data-request="{theirs.id}"' not in page
    label = load_usage(portal_settings.circulation.policies_dir).purposes["public_health_research"]
    assert label not in page and label in analyst.get("/account").text


def test_a_request_over_the_offer_or_from_a_wrong_role_is_refused_on_the_form(as_user, portal_settings) -> None:
    acme, steward = as_user("company.acme"), as_user("steward.bureau")
    most = load_usage(portal_settings.circulation.policies_dir).datasets["population.persons"].max_rows

    over = apply(acme, rows=most + 1)
    assert over.status_code == 400 and 'id="apply-submit"' in over.text
    assert "rows" in one_line_error(over.text, "apply-error")
    assert f'value="{most + 1}"' in over.text  # what was typed is kept

    wrong_role = apply(steward)
    assert wrong_role.status_code == 400 and "role" in one_line_error(wrong_role.text, "apply-error")
    assert 'id="apply-role-note"' in steward.get(f"/datasets/{PERSONS}/apply").text
    assert requests_of(portal_settings) == []


def test_only_conditional_datasets_take_applications(as_user, portal_settings) -> None:
    acme = as_user("company.acme")
    page = acme.get(f"/datasets/{OPEN_DATASET}/apply")
    assert 'id="apply-not-conditional"' in page.text and 'id="apply-submit"' not in page.text
    posted = apply(acme, OPEN_DATASET)
    assert posted.status_code == 400 and "no grant is needed" in one_line_error(posted.text, "apply-error")
    assert requests_of(portal_settings) == []


def test_anonymous_visitors_are_sent_to_sign_in(as_user) -> None:
    anonymous = as_user(None)
    for path in (f"/datasets/{PERSONS}/apply", "/account"):
        response = anonymous.get(path, follow_redirects=False)
        assert response.status_code == 303 and response.headers["location"].startswith("/login?next=%2F"), path


def test_an_api_key_is_shown_once_and_only_its_owner_revokes_it(as_user, portal_settings) -> None:
    acme, analyst = as_user("company.acme"), as_user("analyst.bureau")
    created = acme.post("/account/keys", data={"label": "nightly job", "csrf_token": csrf(acme)})
    assert created.status_code == 200 and created.headers["cache-control"] == "no-store"
    secret = re.search(r'id="new-key-secret">(cdk_[^<]+)<', created.text).group(1)
    with AccountStore(portal_settings.accounts_path) as store:
        owner = store.user_for_key(secret)
        [key] = store.keys(owner)
    assert owner.id == "company.acme" and key.label == "nightly job"

    listed = acme.get("/account").text
    assert secret not in listed and f"{key.prefix}…" in listed and f'data-revoke-key="{key.id}"' in listed

    # another user's key id is as absent as a missing one: 404, nothing revoked
    foreign = analyst.post(f"/account/keys/{key.id}/revoke", data={"csrf_token": csrf(analyst)},
                           follow_redirects=False)
    assert foreign.status_code == 404 and "Traceback" not in foreign.text
    with AccountStore(portal_settings.accounts_path) as store:
        assert store.user_for_key(secret) is not None

    revoked = acme.post(f"/account/keys/{key.id}/revoke", data={"csrf_token": csrf(acme)}, follow_redirects=False)
    assert revoked.status_code == 303
    with AccountStore(portal_settings.accounts_path) as store:
        assert store.user_for_key(secret) is None
    assert f'data-key="{key.id}" data-status="revoked"' in acme.get("/account").text
