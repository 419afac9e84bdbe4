"""The role × grade matrix, exhaustively: no role ever receives a value the policy withholds."""

from __future__ import annotations

import datetime as dt
import itertools

import pandas as pd
import pytest
from tests.circulation.conftest import MASTER_SECRET

from citydata.circulation.masking import enforce, load_masking
from citydata.circulation.pseudonyms import Pseudonymiser
from citydata.errors import CityDataError
from citydata.settings import PROJECT_ROOT

POLICY = load_masking(PROJECT_ROOT / "policies")
GRADES = ["L1", "L2", "L3", "L4"]
SAMPLES: dict[str | None, list] = {
    "resident_id": ["120106198511305250", "11010519491231002X"],
    "mobile": ["18203770159", "13912345678"],
    "person_name": ["焦桂芳", "王强", "欧阳娜娜"],
    "address": ["天津市红桥区白堤里188号吕兰家园38号楼1门3002"],
    "email": ["li.wei@tj.gov.cn"],
    "uscc": ["91120111233487200B"],
    None: ["天津祥德物流有限公司", "pension", "男", "ab", 437.73, 12, dt.date(1985, 11, 30)],
}
DOMAIN = Pseudonymiser(MASTER_SECRET, "consumer-domain-a")


def _cells(frame: pd.DataFrame) -> set[str]:
    return {str(v) for v in frame.to_numpy().ravel() if not pd.isna(v)}


@pytest.mark.parametrize(("role", "grade"), list(itertools.product(POLICY.roles, GRADES)))
def test_role_grade_matrix(role: str, grade: str) -> None:
    action = POLICY.action(grade, role)
    for cls, values in SAMPLES.items():
        frame = pd.DataFrame({"secret": pd.Series(values, dtype="object"), "other": "L1-visible"})
        out = enforce(frame, {"secret": grade, "other": "L1"}, role, POLICY, classes={"secret": cls},
                      pseudonymiser=DOMAIN)
        assert len(out) == len(frame)
        seen = _cells(out)
        if action == "allow":
            assert out["secret"].tolist() == values
            continue
        if action == "deny":
            assert "secret" not in out.columns
        if action == "hash":
            assert out["secret"].tolist() == [DOMAIN.pseudonym(str(v), cls or "id") for v in values]
        for v in values:  # the value itself appears nowhere, not even inside another cell
            assert not any(str(v) in cell for cell in seen), (role, grade, cls, v, seen)


def test_every_role_and_grade_has_a_rule() -> None:
    assert set(POLICY.roles) == {"public", "registered_consumer", "department_staff", "bureau_analyst",
                                 "steward", "admin"}
    assert all(set(POLICY.rules[g]) == set(POLICY.roles) for g in GRADES)
    assert {POLICY.action(g, "public") for g in ("L2", "L3", "L4")} == {"deny"}


def test_fails_closed() -> None:
    frame = pd.DataFrame({"id_number": ["120106198511305250"], "status": ["active"]})
    out = enforce(frame, {"status": "L1"}, "registered_consumer", POLICY, pseudonymiser=DOMAIN)
    assert out["id_number"].tolist() == [DOMAIN.pseudonym("120106198511305250")]  # ungraded → L4
    assert "id_number" not in enforce(frame, {"status": "L1"}, "public", POLICY).columns
    with pytest.raises(CityDataError, match="role 'root' is not one of"):
        enforce(frame, {}, "root", POLICY)
    with pytest.raises(CityDataError, match="no consumer domain"):
        enforce(frame, {"id_number": "L4"}, "registered_consumer", POLICY)
    assert POLICY.action("L9", "steward") == "deny"


def test_incomplete_policy_is_refused(tmp_path) -> None:
    (tmp_path / "masking.yaml").write_text("roles: {a: A, b: B}\nrules: {L1: {a: allow}}\n", encoding="utf-8")
    with pytest.raises(CityDataError, match=r"masking.yaml: .*must name each role exactly: missing \['b'\]"):
        load_masking(tmp_path)
