"""The access-request workflow: request → owning steward decides → grant → every use checked → revocation."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from citydata.catalog.entities import BUREAU_TEAM
from citydata.circulation.audit_log import AuditLog
from citydata.circulation.audit_verify import verify_log
from citydata.circulation.grants import Actor, GrantStore
from citydata.circulation.masking import load_masking
from citydata.circulation.odrl import Policy
from citydata.circulation.usage import load_usage
from citydata.errors import CityDataError
from citydata.settings import PROJECT_ROOT

T0 = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
CLINIC = Actor("clinic-a", "registered_consumer", domain="health")
PERSONS = "population.persons"


@pytest.fixture
def store(tmp_path: Path, audit_log: AuditLog) -> Iterator[GrantStore]:
    with GrantStore(tmp_path / "audit" / "grants.sqlite", audit_log, load_usage(PROJECT_ROOT / "policies")) as s:
        yield s


def _grant(store: GrantStore, rows: int = 100, downloads: int = 2, days: int = 30) -> int:
    req = store.request(CLINIC, PERSONS, "social_assistance", rows=rows, downloads=downloads, days=days, now=T0)
    return store.approve(req.id, "steward.bureau", now=T0 + timedelta(hours=1)).id


def _use(store: GrantStore, grant_id: int, rows: int, *, download: bool = False, at: datetime = T0,
         purpose: str = "social_assistance") -> None:
    """A use as the release gate makes it: checked and logged under the lock."""
    with store.exclusive():
        store.check(grant_id, CLINIC, PERSONS, purpose, rows=rows, download=download, now=at)
        store.log.append("download" if download else "restricted_read", CLINIC.id, consumer=CLINIC.id,
                         dataset=PERSONS, rows=rows, at=at, grant=grant_id)


def test_full_workflow_is_logged_and_verifies(store: GrantStore, audit_log: AuditLog) -> None:
    req = store.request(CLINIC, PERSONS, "social_assistance", rows=100, downloads=2, days=30, now=T0)
    assert req.status == "pending"
    grant = store.approve(req.id, "steward.bureau", now=T0 + timedelta(hours=1))
    assert store.request_of(req.id).status == "approved" and store.request_of(req.id).grant_id == grant.id
    assert grant.not_after == (T0 + timedelta(hours=1, days=30)).isoformat()
    assert grant.status(T0 + timedelta(days=2)) == "active"
    policy = Policy.model_validate(grant.policy.to_json())  # round-trips as ODRL JSON
    assert policy.type == "Agreement" and [p.action for p in policy.permission] == ["read", "reproduce"]
    assert grant.policy.to_json()["@type"] == "Agreement"

    _use(store, grant.id, 40, at=T0 + timedelta(days=1))
    _use(store, grant.id, 30, download=True, at=T0 + timedelta(days=2))
    assert audit_log.grant_usage(grant.id) == (70, 1)
    store.revoke(grant.id, "steward.bureau", "purpose fulfilled", now=T0 + timedelta(days=3))

    rejected = store.request(CLINIC, PERSONS, "employment_services", rows=10, downloads=0, days=5, now=T0)
    store.reject(rejected.id, "steward.bureau", "no legal basis stated", now=T0 + timedelta(days=1))
    assert store.request_of(rejected.id).status == "rejected"

    entries = audit_log.entries()
    assert [e["action"] for e in entries] == ["request", "approve", "grant", "restricted_read", "download", "revoke",
                                             "request", "reject"]
    assert entries[2]["detail"]["policy"]["@type"] == "Agreement" and entries[2]["consumer"] == "clinic-a"
    assert entries[7]["detail"] == {"request": rejected.id, "reason": "no legal basis stated"}
    assert entries[0]["at"] == T0.isoformat(timespec="microseconds")
    assert verify_log(audit_log).ok


def test_steward_of_another_department_cannot_decide(store: GrantStore) -> None:
    req = store.request(CLINIC, PERSONS, "social_assistance", rows=10, downloads=0, days=5, now=T0)
    with pytest.raises(CityDataError, match="steward steward.hrss of hrss cannot decide on population.persons: "
                                            "it belongs to data_bureau"):
        store.approve(req.id, "steward.hrss", now=T0)
    with pytest.raises(CityDataError, match="cannot decide"):
        store.reject(req.id, "steward.health", "no", now=T0)
    with pytest.raises(CityDataError, match="'clinic-a' is not a steward"):
        store.approve(req.id, "clinic-a", now=T0)
    assert store.request_of(req.id).status == "pending" and store.grants() == []
    hrss = store.request(CLINIC, "staging.stg_hrss__enrolments", "employment_services", rows=10, downloads=0,
                         days=5, now=T0)
    with pytest.raises(CityDataError, match="belongs to hrss"):
        store.approve(hrss.id, "steward.bureau", now=T0)
    grant = store.approve(hrss.id, "steward.hrss", now=T0)
    with pytest.raises(CityDataError, match="cannot revoke grant"):
        store.revoke(grant.id, "steward.bureau", "not mine", now=T0)
    with pytest.raises(CityDataError, match="already approved by steward.hrss"):
        store.reject(hrss.id, "steward.hrss", "changed my mind", now=T0)


def test_requests_beyond_the_offer_are_refused(store: GrantStore) -> None:
    with pytest.raises(CityDataError, match=r"purpose 'marketing': must be one of social_assistance"):
        store.request(CLINIC, PERSONS, "marketing", rows=10, downloads=0, days=5, now=T0)
    with pytest.raises(CityDataError, match=r"rows 100001: may be at most 100000; period 'P91D': may be at most P90D"):
        store.request(CLINIC, PERSONS, "social_assistance", rows=100_001, downloads=0, days=91, now=T0)
    with pytest.raises(CityDataError, match=r"downloads 6: may be at most 5"):
        store.request(CLINIC, PERSONS, "social_assistance", rows=10, downloads=6, days=5, now=T0)
    with pytest.raises(CityDataError, match=r"role 'public': must be one of"):
        store.request(Actor("anyone", "public"), PERSONS, "social_assistance", rows=1, downloads=0, days=1, now=T0)
    with pytest.raises(CityDataError, match="legal_entity.legal_entities is open: no grant is needed"):
        store.request(CLINIC, "legal_entity.legal_entities", "market_supervision", rows=1, downloads=0, days=1, now=T0)
    with pytest.raises(CityDataError, match="governance.conflicts is closed"):
        store.request(CLINIC, "governance.conflicts", "market_supervision", rows=1, downloads=0, days=1, now=T0)
    with pytest.raises(CityDataError, match="has no usage policy"):
        store.request(CLINIC, "marts.secrets", "social_assistance", rows=1, downloads=0, days=1, now=T0)
    assert store.requests() == []


def test_expiry(store: GrantStore) -> None:
    grant_id = _grant(store, days=30)
    not_after = datetime.fromisoformat(store.grant_of(grant_id).not_after)
    _use(store, grant_id, 1, at=not_after)  # the last instant still counts
    with pytest.raises(CityDataError, match=re.escape(f"grant {grant_id} refuses this read: expired at {not_after.isoformat()}")):
        _use(store, grant_id, 1, at=not_after + timedelta(seconds=1))
    assert store.grant_of(grant_id).status(not_after + timedelta(seconds=1)) == "expired"


def test_rows_and_downloads_are_counted_from_the_log(store: GrantStore) -> None:
    grant_id = _grant(store, rows=100, downloads=2)
    _use(store, grant_id, 60)
    _use(store, grant_id, 30, download=True)
    with pytest.raises(CityDataError, match=r"rows 101: may be at most 100 \(used so far: 90 rows, 1 downloads\)"):
        _use(store, grant_id, 11)
    _use(store, grant_id, 5, download=True)
    with pytest.raises(CityDataError, match=r"downloads 3: may be at most 2"):
        _use(store, grant_id, 1, download=True)
    _use(store, grant_id, 5)  # reads within the row budget still pass
    assert store.log.grant_usage(grant_id) == (100, 2)


def test_purpose_consumer_and_dataset_are_bound(store: GrantStore) -> None:
    grant_id = _grant(store)
    with pytest.raises(CityDataError, match=r"purpose 'employment_services': must be social_assistance"):
        _use(store, grant_id, 1, purpose="employment_services")
    with store.exclusive(), pytest.raises(CityDataError, match=r"grant \d+ is not yours \(bank-c\)"):
        store.check(grant_id, Actor("bank-c", "registered_consumer"), PERSONS, "social_assistance", rows=1,
                    download=False, now=T0)
    with pytest.raises(CityDataError, match=f"grant {grant_id} is for population.persons, not credit.credit_records"):
        store.check(grant_id, CLINIC, "credit.credit_records", "social_assistance", rows=1, download=False, now=T0)
    no_downloads = store.approve(store.request(CLINIC, PERSONS, "social_assistance", rows=5, downloads=0, days=1,
                                               now=T0).id, "steward.bureau", now=T0).id
    with pytest.raises(CityDataError, match="permits no reproduce"):
        _use(store, no_downloads, 1, download=True)


def test_revocation_takes_effect_at_once(store: GrantStore, tmp_path: Path, audit_log: AuditLog) -> None:
    grant_id = _grant(store)
    _use(store, grant_id, 1)
    # another process (the CLI) revokes through its own connection to the same files
    with GrantStore(store.path, audit_log, store.usage) as other:
        other.revoke(grant_id, "steward.bureau", "consumer breached terms", now=T0 + timedelta(minutes=1))
    with pytest.raises(CityDataError, match=rf"grant {grant_id} was revoked at .* by steward.bureau: consumer breached"):
        _use(store, grant_id, 1, at=T0 + timedelta(minutes=2))
    with pytest.raises(CityDataError, match="already revoked"):
        store.revoke(grant_id, "steward.bureau", "again", now=T0 + timedelta(minutes=3))


def test_usage_policy_is_consistent_with_departments_and_roles(connectors: list) -> None:
    usage = load_usage(PROJECT_ROOT / "policies")
    roles = set(load_masking(PROJECT_ROOT / "policies").roles)
    departments = {c.department.code for c in connectors} | {BUREAU_TEAM}
    for name, dataset in usage.datasets.items():
        assert dataset.owner in departments, name
        assert set(dataset.roles) <= roles, name
        assert dataset.owner in usage.stewards.values(), f"nobody can decide on {name}"
    assert set(usage.stewards.values()) <= departments


def test_bad_usage_policy_is_refused(tmp_path: Path) -> None:
    (tmp_path / "usage.yaml").write_text(
        "purposes: {a: A}\nstewards: {}\ndatasets:\n  x.y: {owner: d, openness: conditional, purposes: [a]}\n",
        encoding="utf-8")
    with pytest.raises(CityDataError, match="usage.yaml: datasets.x.y: .*needs purposes, roles, max_rows"):
        load_usage(tmp_path)
    (tmp_path / "usage.yaml").write_text(
        "purposes: {a: A}\nstewards: {}\ndatasets:\n  x.y: {owner: d, openness: open, purposes: [b]}\n",
        encoding="utf-8")
    with pytest.raises(CityDataError, match=r"names \['b'\], not listed under purposes"):
        load_usage(tmp_path)
