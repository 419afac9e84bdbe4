"""Per-domain pseudonyms: unlinkable across domains, stable within one, re-identification audited."""

from __future__ import annotations

import pandas as pd
import pytest
from tests.circulation.conftest import MASTER_SECRET

from citydata.circulation.audit_log import AuditLog
from citydata.circulation.audit_verify import verify_log
from citydata.circulation.context import master_secret
from citydata.circulation.pseudonyms import Pseudonymiser, reidentify
from citydata.errors import CityDataError
from citydata.settings import Settings
from citydata.synth import generate


@pytest.fixture(scope="module")
def person_ids() -> list[str]:
    city = generate(300, 11)
    return sorted(set(city.initial[("public_security", "persons")]["id_number"].dropna()))


def test_two_domains_extracts_join_on_no_one(person_ids: list[str]) -> None:
    health, tax = Pseudonymiser(MASTER_SECRET, "health"), Pseudonymiser(MASTER_SECRET, "tax")
    a = pd.DataFrame({"person": [health.pseudonym(i) for i in person_ids], "x": 1})
    b = pd.DataFrame({"person": [tax.pseudonym(i) for i in person_ids], "y": 2})
    assert len(person_ids) > 250
    assert a["person"].nunique() == len(person_ids)  # no collisions inside one domain
    assert len(a.merge(b, on="person")) == 0


def test_same_domain_is_stable_and_normalises() -> None:
    p = Pseudonymiser(MASTER_SECRET, "health")
    assert p.pseudonym("12010619850101123x") == p.pseudonym(" 12010619850101123X ")
    assert p.pseudonym("1", kind="person") != p.pseudonym("1", kind="entity")
    assert Pseudonymiser(b"another-master-secret-of-32-bytes!!", "health").pseudonym("1") != p.pseudonym("1")


def test_domain_tag_names_the_issuing_domain(person_ids: list[str]) -> None:
    health, tax = Pseudonymiser(MASTER_SECRET, "health"), Pseudonymiser(MASTER_SECRET, "tax")
    issued = [health.pseudonym(i) for i in person_ids]
    assert all(health.owns(p) for p in issued)
    assert not any(tax.owns(p) for p in issued)
    assert not health.owns(person_ids[0]) and not health.owns(issued[0][:-1] + "a")


def test_reidentification_finds_the_person_and_is_audited(person_ids: list[str], audit_log: AuditLog) -> None:
    health = Pseudonymiser(MASTER_SECRET, "health")
    target = person_ids[17]
    found = reidentify(health, [health.pseudonym(target), "nobody" * 4], person_ids, audit_log,
                       actor="analyst-7", purpose="court order 2026-12")
    assert found == {health.pseudonym(target): target, "nobody" * 4: None}
    (entry,) = audit_log.entries()
    assert entry["action"] == "reidentify" and entry["actor"] == "analyst-7"
    assert entry["detail"]["found"] == 1 and target not in str(entry)
    assert verify_log(audit_log).ok


def test_master_secret_only_from_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CITYDATA_CIRCULATION__MASTER_SECRET", raising=False)
    with pytest.raises(CityDataError, match="set CITYDATA_CIRCULATION__MASTER_SECRET"):
        master_secret(Settings())
    monkeypatch.setenv("CITYDATA_CIRCULATION__MASTER_SECRET", "short")
    with pytest.raises(CityDataError, match="at least 32"):
        master_secret(Settings())
    monkeypatch.setenv("CITYDATA_CIRCULATION__MASTER_SECRET", MASTER_SECRET.decode())
    assert master_secret(Settings()) == MASTER_SECRET
