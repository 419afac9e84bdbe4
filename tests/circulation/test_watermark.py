"""Leak tracing: 100 simulated leaks (whole file, 5% sample, columns dropped, rows shuffled)."""

from __future__ import annotations

import io
import random

import pandas as pd
import pytest
from tests.circulation.conftest import MASTER_SECRET

from citydata.circulation.audit_log import AuditLog
from citydata.circulation.detectors import classify_frame
from citydata.circulation.grading import load_grading
from citydata.circulation.masking import load_masking
from citydata.circulation.pseudonyms import Pseudonymiser
from citydata.circulation.watermark import CANARIES, issue_extract, trace_leak
from citydata.settings import PROJECT_ROOT
from citydata.synth import generate

IDENTIFYING = ["id_number", "mobile", "employer_uscc"]  # the columns not generalised or cut to 1 char
RECIPIENTS = {"clinic-a": "health", "clinic-b": "health", "bank-c": "finance", "bank-d": "finance",
              "insurer-e": "insurance"}


@pytest.fixture(scope="module")
def enrolments() -> pd.DataFrame:
    return generate(800, 4).final_tables()[("hrss", "enrolments")]


@pytest.fixture
def extracts(enrolments: pd.DataFrame, audit_log: AuditLog) -> dict[str, pd.DataFrame]:
    grading, masking = load_grading(PROJECT_ROOT / "policies"), load_masking(PROJECT_ROOT / "policies")
    classes = {d.column: d.classification for d in classify_frame(enrolments)}
    grades = {c: grading.grade_of(cls) for c, cls in classes.items()}
    out = {}
    for recipient, domain in RECIPIENTS.items():
        extract = issue_extract(enrolments, grades, recipient=recipient, role="registered_consumer",
                                dataset="hrss.enrolments", policy=masking, classes=classes, log=audit_log,
                                domain=Pseudonymiser(MASTER_SECRET, domain), master=MASTER_SECRET)
        buffer = io.StringIO()
        extract.to_csv(buffer, index=False)  # what leaves the platform is a file
        out[recipient] = pd.read_csv(io.StringIO(buffer.getvalue()), dtype=str, keep_default_na=False)
    return out


def test_extract_is_enforced_and_audited(extracts: dict, enrolments: pd.DataFrame, audit_log: AuditLog) -> None:
    clinic = extracts["clinic-a"]
    assert len(clinic) == len(enrolments) + CANARIES
    assert not set(enrolments["id_number"].dropna()) & set(clinic["id_number"])
    entries = [e for e in audit_log.entries() if e["action"] == "extract"]
    assert [e["consumer"] for e in entries] == list(RECIPIENTS)
    assert entries[0]["rows"] == len(enrolments) and len(entries[0]["detail"]["canaries"]) > CANARIES


def test_hundred_leaks_are_traced(extracts: dict, audit_log: AuditLog) -> None:
    r = random.Random(2026)
    right, kinds = 0, []
    for _ in range(100):
        recipient = r.choice(list(RECIPIENTS))
        leak = extracts[recipient]
        kind = r.choice(["whole", "sample", "columns", "sample+columns"])
        if "sample" in kind:
            leak = leak.sample(frac=0.05, random_state=r.randrange(2**32))
        if "columns" in kind:  # any columns, as long as one carries row-level content
            keep = r.sample(list(leak.columns), k=r.randint(1, len(leak.columns) - 2))
            leak = leak[sorted(set(keep) | {r.choice(IDENTIFYING)})]
        leak = leak.sample(frac=1, random_state=r.randrange(2**32))  # shuffled
        found = trace_leak(leak, audit_log, MASTER_SECRET)
        right += found.recipient == recipient
        kinds.append(kind)
    assert right >= 99
    assert len(set(kinds)) == 4


def test_only_pseudonyms_left_still_name_the_domain(extracts: dict, audit_log: AuditLog) -> None:
    real_rows = extracts["insurer-e"].head(20)[["id_number"]]
    found = trace_leak(real_rows, audit_log, MASTER_SECRET)
    assert found.domain == "insurance" and found.recipient == "insurer-e"  # the only recipient in its domain
    found = trace_leak(extracts["clinic-b"].head(3)[["id_number", "status"]], audit_log, MASTER_SECRET)
    assert found.domain == "health"


def test_a_file_from_elsewhere_names_no_one(audit_log: AuditLog, extracts: dict) -> None:
    other = pd.DataFrame({"id_number": ["120106198511305250"], "name": ["王强"]})
    found = trace_leak(other, audit_log, MASTER_SECRET)
    assert found.recipient is None and found.domain is None


def test_generalised_columns_alone_accuse_no_one(extracts: dict, audit_log: AuditLog) -> None:
    """A leak of only generalised columns carries no fingerprint: the trace must not guess."""
    found = trace_leak(extracts["bank-c"][["employer_name", "status", "started_on"]], audit_log, MASTER_SECRET)
    assert found.recipient is None and not found.canary_hits
