"""What the download, data API and CKAN tests share: the serving copy read directly (not through the
portal), grants made through the grant store as a steward would, the audit log, and API keys."""

from __future__ import annotations

from datetime import UTC, datetime

import duckdb

from citydata.portal.access import open_gate
from citydata.portal.accounts import AccountStore
from citydata.settings import Settings

ENTITIES = "warehouse.citydata.legal_entity.legal_entities"
PERSONS = "warehouse.citydata.population.persons"


def published(settings: Settings, sql: str, params: list | None = None) -> list[tuple]:
    """Straight from the serving copy, not through the portal."""
    con = duckdb.connect(str(settings.serving_path), read_only=True)
    try:
        return con.execute(sql, params or []).fetchall()
    finally:
        con.close()


def count(settings: Settings, table: str) -> int:
    return published(settings, f"select count(*) from published.{table}")[0][0]


def add_consumer(settings: Settings, user_id: str, domain: str) -> None:
    """One more registered consumer (a company of its own pseudonym domain)."""
    accounts = AccountStore(settings.accounts_path)
    try:
        accounts.add_user(user_id, "another-company-pw", "registered_consumer", now=datetime.now(UTC), domain=domain)
    finally:
        accounts.close()


def api_key(settings: Settings, user_id: str) -> str:
    """A fresh API key of ``user_id`` (the secret)."""
    accounts = AccountStore(settings.accounts_path)
    try:
        return accounts.issue_key(accounts.user(user_id), "test", now=datetime.now(UTC))[1]
    finally:
        accounts.close()


def grant_persons(settings: Settings, consumer: str, purpose: str = "social_assistance", downloads: int = 2) -> int:
    """A request by ``consumer`` for population.persons, approved by the bureau's steward: the grant id."""
    at = datetime.now(UTC)
    accounts = AccountStore(settings.accounts_path)
    try:
        actor = accounts.user(consumer).actor
    finally:
        accounts.close()
    with open_gate(settings) as gate:
        asked = gate.grants.request(actor, "population.persons", purpose, rows=100000, downloads=downloads, days=30,
                                    now=at)
        return gate.grants.approve(asked.id, "steward.bureau", at).id


def audit(settings: Settings, action: str) -> list[dict]:
    with open_gate(settings) as gate:
        return gate.log.entries(action)
