"""What the account, steward and admin page tests share: clients signed in as demo users, the CSRF
token of a page, applying for a dataset, and reading the grant store the portal writes."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator

import pytest
from fastapi.testclient import TestClient
from tests.portal.conftest import sign_in

from citydata.portal import create_app
from citydata.portal.access import open_gate

PERSONS = "warehouse.citydata.population.persons"
OPEN_DATASET = "warehouse.citydata.legal_entity.legal_entities"


@pytest.fixture(name="as_user")
def as_user_fixture(portal_settings) -> Iterator[Callable[[str | None], TestClient]]:
    """``as_user("company.acme")``: a client of one portal app signed in as that user (None: anonymous)."""
    app = create_app(portal_settings)
    opened: list[TestClient] = []

    def make(user: str | None = None) -> TestClient:
        client = TestClient(app)
        opened.append(client)
        if user:
            sign_in(client, user)
        return client

    yield make
    for client in opened:
        client.close()


def csrf(client: TestClient, path: str = "/account") -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', client.get(path).text)
    assert match, f"no csrf_token on {path}"
    return match.group(1)


def apply(client: TestClient, fqn: str = PERSONS, **values: object):
    form = {"purpose": "social_assistance", "rows": 1000, "downloads": 2, "days": 30, **values}
    return client.post(f"/datasets/{fqn}/apply", data={**form, "csrf_token": csrf(client)}, follow_redirects=False)


def requests_of(settings) -> list:
    with open_gate(settings) as gate:
        return gate.grants.requests()


def grants_of(settings) -> list:
    with open_gate(settings) as gate:
        return gate.grants.grants()


def one_line_error(html: str, element_id: str | None = None) -> str:
    """The text of the page's error line (``element_id``'s, else the error page's message)."""
    pattern = (rf'id="{element_id}"[^>]*>([^<]*)<' if element_id
               else r'<section class="notice">.*?</h1>\s*<p>(.*?)</p>')
    match = re.search(pattern, html, re.S)
    assert match, f"no error line ({element_id or 'error page'}) in the page"
    text = match.group(1).strip()
    assert "\n" not in text and "Traceback" not in html
    return text
