"""The one outbound gate: bases (owner, open, grant, closed), masking per role, watermarks, audit."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pandas as pd
import pytest
from tests.circulation.conftest import MASTER_SECRET

from citydata.circulation.audit_log import AuditLog
from citydata.circulation.audit_verify import verify_log
from citydata.circulation.grading import load_grading
from citydata.circulation.grants import Actor, GrantStore
from citydata.circulation.masking import load_masking
from citydata.circulation.pseudonyms import Pseudonymiser
from citydata.circulation.release import Gate, column_grades, release
from citydata.circulation.usage import load_usage
from citydata.circulation.watermark import trace_leak
from citydata.errors import CityDataError
from citydata.settings import PROJECT_ROOT
from citydata.synth import generate

T0 = datetime(2026, 3, 2, 8, 30, tzinfo=UTC)
POLICIES = PROJECT_ROOT / "policies"
CLINIC = Actor("clinic-a", "registered_consumer", domain="health")
PUBLIC = Actor("anonymous", "public")
HRSS = "staging.stg_hrss__enrolments"


@pytest.fixture(scope="module")
def tables() -> dict:
    return generate(300, 4).final_tables()


@pytest.fixture
def gate(tmp_path: Path, audit_log: AuditLog) -> Iterator[Gate]:
    with GrantStore(tmp_path / "audit" / "grants.sqlite", audit_log, load_usage(POLICIES)) as grants:
        yield Gate(grants, load_masking(POLICIES), load_grading(POLICIES), MASTER_SECRET)


def _cells(frame: pd.DataFrame) -> set[str]:
    return {str(v) for v in frame.to_numpy().ravel() if not pd.isna(v)}


def _grant(gate: Gate, rows: int, downloads: int = 1) -> int:
    req = gate.grants.request(CLINIC, HRSS, "employment_services", rows=rows, downloads=downloads, days=30, now=T0)
    return gate.grants.approve(req.id, "steward.hrss", now=T0).id


def test_public_gets_only_l1_columns_of_open_datasets(gate: Gate, tables: dict) -> None:
    frame = tables[("market_regulation", "enterprises")]
    declared = {c: "L2" for c in frame.columns} | {"name": "L1"}  # what the catalog would say
    grades, _ = column_grades(frame, gate.grading, declared)
    out = release(gate, frame, "legal_entity.legal_entities", PUBLIC, now=T0, grades=declared)
    assert len(out) == len(frame) and list(out.columns)
    assert {grades[c] for c in out.columns} == {"L1"}
    assert set(out.columns) == {c for c, g in grades.items() if g == "L1"}
    assert gate.log.entries() == []  # browsing open data is not a restricted read
    staff = release(gate, frame, "legal_entity.legal_entities", Actor("analyst", "registered_consumer", domain="finance"),
                    now=T0,
                    grades=declared, download=True)
    hidden = {str(v) for c, g in grades.items() if g in ("L3", "L4") for v in frame[c].dropna()}
    assert not hidden & _cells(staff)  # masked or generalised, never the values themselves
    assert [e["action"] for e in gate.log.entries()] == ["download"]


def test_conditional_data_needs_a_grant(gate: Gate, tables: dict) -> None:
    frame = tables[("hrss", "enrolments")]
    for actor in (PUBLIC, CLINIC):
        with pytest.raises(CityDataError, match="open on conditions .*apply for a grant"):
            release(gate, frame, HRSS, actor, "employment_services", now=T0)
    with pytest.raises(CityDataError, match="governance.conflicts is closed .*only data_bureau staff"):
        release(gate, frame, "governance.conflicts", CLINIC, now=T0)
    with pytest.raises(CityDataError, match="no usage policy"):
        release(gate, frame, "marts.unlisted", CLINIC, now=T0)
    refusals = gate.log.entries()
    assert [e["action"] for e in refusals] == ["refuse"] * 4
    assert "apply for a grant" in refusals[0]["detail"]["reason"] and refusals[0]["consumer"] == "anonymous"


def test_granted_read_is_masked_for_the_role_and_logged(gate: Gate, tables: dict) -> None:
    frame = tables[("hrss", "enrolments")]
    grant_id = _grant(gate, rows=len(frame))
    out = release(gate, frame, HRSS, CLINIC, "employment_services", now=T0 + timedelta(days=1), grant_id=grant_id,
                  grades={"status": "L2"})
    domain = Pseudonymiser(MASTER_SECRET, "health")
    ids = frame["id_number"].dropna()
    assert out["id_number"].dropna().tolist() == [domain.pseudonym(v, "resident_id") for v in ids]
    for column in ("id_number", "name", "mobile"):
        assert not set(frame[column].astype(str)) & _cells(out), column
    assert "status" in out.columns and out["status"].str.endswith("…").all()  # declared L2: generalised
    assert out["insurance_type"].dropna().map(domain.owns).all()  # graded by nobody: L4, pseudonymised
    read = gate.log.entries()[-1]
    assert read["action"] == "restricted_read" and read["rows"] == len(frame)
    assert read["detail"] | {"columns": None} == {"basis": "grant", "grant": grant_id, "purpose": "employment_services",
                                                 "role": "registered_consumer", "domain": "health", "columns": None}
    with pytest.raises(CityDataError, match=rf"grant {grant_id} refuses this read: rows {len(frame) + 1}: may be at most"):
        release(gate, frame.head(1), HRSS, CLINIC, "employment_services", now=T0, grant_id=grant_id)


def test_granted_download_is_watermarked_and_counted(gate: Gate, tables: dict) -> None:
    frame = tables[("hrss", "enrolments")]
    grant_id = _grant(gate, rows=10 * len(frame), downloads=1)
    extract = release(gate, frame, HRSS, CLINIC, "employment_services", now=T0, grant_id=grant_id, download=True)
    assert len(extract) > len(frame)  # canary records mixed in
    entry = gate.log.entries()[-1]
    assert entry["action"] == "download" and entry["detail"]["grant"] == grant_id and entry["detail"]["canaries"]
    assert gate.log.grant_usage(grant_id) == (len(frame), 1)
    assert trace_leak(extract.sample(frac=0.05, random_state=3), gate.log, MASTER_SECRET).recipient == "clinic-a"
    with pytest.raises(CityDataError, match="downloads 2: may be at most 1"):
        release(gate, frame, HRSS, CLINIC, "employment_services", now=T0, grant_id=grant_id, download=True)
    gate.grants.revoke(grant_id, "steward.hrss", "leak suspected", now=T0 + timedelta(hours=1))
    with pytest.raises(CityDataError, match="was revoked"):
        release(gate, frame.head(2), HRSS, CLINIC, "employment_services", now=T0 + timedelta(hours=1),
                grant_id=grant_id)
    assert verify_log(gate.log).ok


def test_owning_department_reads_its_own_data_without_a_grant(gate: Gate, tables: dict) -> None:
    frame = tables[("hrss", "enrolments")]
    staff = Actor("clerk.hrss", "department_staff", department="hrss")
    out = release(gate, frame, HRSS, staff, "case_work", now=T0)
    assert out["name"].str.contains(r"\*").all()  # L3 is masked even for the owner's staff
    assert gate.log.entries()[-1]["detail"]["basis"] == "owner"
    with pytest.raises(CityDataError, match="closed"):  # another department's staff: no
        release(gate, frame, "governance.conflicts", staff, now=T0)


def test_detection_raises_declared_grades_never_lowers_them(gate: Gate, tables: dict) -> None:
    frame = tables[("hrss", "enrolments")]
    grades, classes = column_grades(frame, gate.grading, {"id_number": "L1", "status": "L3"})
    assert grades["id_number"] == "L4" and classes["id_number"] == "resident_id"
    assert grades["status"] == "L3"
    assert "insurance_type" not in grades  # neither declared nor detected: enforce treats it as L4


def test_classes_detected_over_the_whole_table_are_used_and_missing_columns_still_detected(
        gate: Gate, tables: dict) -> None:
    frame = tables[("market_regulation", "enterprises")]
    id_column = next(c for c in frame.columns if "id_number" in c)
    declared = dict.fromkeys(frame.columns, "L1")  # as if someone opened every column by mistake
    page = frame.head(10)
    from_table = {c: None for c in frame.columns if c != id_column}  # the table-wide scan, one column short
    out = release(gate, page, "legal_entity.legal_entities", PUBLIC, now=T0, grades=declared, detected=from_table)
    assert id_column not in out.columns  # detected on the page although the caller did not say
    said = {**from_table, "name": "person_name"}  # the table-wide scan says: names of persons
    out = release(gate, page, "legal_entity.legal_entities", PUBLIC, now=T0, grades=declared, detected=said)
    assert "name" not in out.columns and id_column not in out.columns
