"""k-anonymity of open microdata before publication (issue 7 item 7)."""

from __future__ import annotations

from datetime import UTC, datetime

import duckdb
import numpy as np
import pandas as pd
import pytest

from citydata.circulation.kanon import k_anonymise, k_of
from citydata.circulation.open_data import deidentify_published, latest_checks
from citydata.circulation.usage import UsagePolicies
from citydata.errors import CityDataError

QUASI = {"birth_month": "month", "gender": "category", "division_code": "category", "marital_status": "category"}


def microdata(n: int, seed: int = 1) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame({
        "birth_month": [f"{y}-{m:02d}" for y, m in zip(rng.integers(1940, 2020, n), rng.integers(1, 13, n))],
        "gender": rng.choice(["male", "female"], n),
        "division_code": rng.choice(["120101", "120102", "120103", "120104", "120105"], n),
        "marital_status": rng.choice(["married", None, "divorced", "widowed"], n, p=[.5, .3, .15, .05]),
        "registration_status": rng.choice(["active", "moved_out"], n)})


@pytest.mark.parametrize(("n", "k"), [(50, 5), (300, 5), (3000, 5), (3000, 10), (3000, 25)])
def test_every_output_group_has_at_least_k_rows_and_suppression_stays_within_bounds(n: int, k: int) -> None:
    frame = microdata(n)
    assert k_of(frame, list(QUASI)) < k  # the raw microdata singles people out
    out, report = k_anonymise(frame, QUASI, k=k, max_suppression=0.05)
    assert k_of(out, list(QUASI)) >= k and report.achieved >= k
    assert report.suppressed == n - len(out) == report.rows_in - report.rows_out
    assert report.suppressed <= 0.05 * n
    assert list(out.columns) == list(frame.columns)
    assert out["registration_status"].isin(["active", "moved_out"]).all()  # not a quasi-identifier: untouched


def test_generalisation_is_minimal_a_k_anonymous_frame_comes_back_unchanged() -> None:
    frame = pd.DataFrame({"birth_month": ["1980-01"] * 5 + ["1990-02"] * 5, "gender": ["male"] * 10,
                          "division_code": ["120101"] * 10, "marital_status": [None] * 10})
    out, report = k_anonymise(frame, QUASI, k=5)
    assert report.levels == dict.fromkeys(QUASI, 0) and report.suppressed == 0
    pd.testing.assert_frame_equal(out, frame)


def test_month_ladder_climbs_to_year_and_bands() -> None:
    frame = pd.DataFrame({"birth_month": ["1981-01", "1982-05", "1983-07", "1984-03", "1980-12", "1979-04"],
                          "gender": ["f"] * 6})
    out, report = k_anonymise(frame, {"birth_month": "month"}, k=5, max_suppression=0.2)
    assert report.levels == {"birth_month": 2} and report.suppressed == 1  # the 1975-79 row goes
    assert set(out["birth_month"]) == {"1980-1984"}


def test_fewer_rows_than_k_publishes_nothing() -> None:
    out, report = k_anonymise(microdata(3), QUASI, k=5)
    assert out.empty and report.suppressed == 3 and report.achieved == 0


def test_bad_declarations_are_one_line_errors() -> None:
    with pytest.raises(CityDataError, match=r"quasi-identifiers \['age'\] are not columns"):
        k_anonymise(microdata(10), {"age": "category"})
    with pytest.raises(CityDataError, match="unknown generalisation ladder"):
        k_anonymise(microdata(10), {"gender": "zip"})
    with pytest.raises(ValueError, match="quasi_identifiers apply to open datasets only"):
        UsagePolicies.model_validate({"purposes": {"p": "x"}, "stewards": {}, "datasets": {"a.b": {
            "owner": "o", "openness": "closed", "quasi_identifiers": {"gender": "category"}}}})


def test_published_open_microdata_is_replaced_in_place_and_the_check_recorded() -> None:
    con = duckdb.connect()
    con.execute("create schema published")
    frame = microdata(400)
    con.register("f", frame)
    con.execute("create table published.persons_open as select * from f")
    con.execute("create table published.legal_entities as select 1 as x")
    usage = UsagePolicies.model_validate({"purposes": {"p": "x"}, "stewards": {}, "datasets": {
        "population.persons_open": {"owner": "data_bureau", "openness": "open", "quasi_identifiers": QUASI},
        "legal_entity.legal_entities": {"owner": "data_bureau", "openness": "open"}}})
    reports = deidentify_published(con, usage, datetime(2026, 11, 22, tzinfo=UTC).isoformat())
    assert list(reports) == ["population.persons_open"]
    published = con.execute("select * from published.persons_open").df()
    assert k_of(published, list(QUASI)) >= 5 and len(published) == reports["population.persons_open"].rows_out
    checks = latest_checks(con)
    assert checks["population.persons_open"]["achieved"] >= 5 and checks["population.persons_open"]["k"] == 5
    assert con.execute("select x from published.legal_entities").fetchall() == [(1,)]


def test_policy_file_changes_are_logged_once_each(tmp_path) -> None:
    from citydata.circulation.audit_log import AuditLog
    from citydata.circulation.checkpoints import load_signing_key
    from citydata.circulation.open_data import log_policy_changes

    policies = tmp_path / "policies"
    policies.mkdir()
    (policies / "usage.yaml").write_text("a: 1\n")
    (policies / "masking.yaml").write_text("b: 1\n")
    at = datetime(2026, 11, 22, tzinfo=UTC)
    with AuditLog(tmp_path / "audit.sqlite", load_signing_key(None, tmp_path / "k.pem")) as log:
        assert log_policy_changes(log, policies, at) == ["masking.yaml", "usage.yaml"]
        assert log_policy_changes(log, policies, at) == []
        (policies / "usage.yaml").write_text("a: 2\n")
        assert log_policy_changes(log, policies, at) == ["usage.yaml"]
        last = log.entries("policy_change")[-1]["detail"]
        assert last["previous"] != last["sha256"] and last["previous"] is not None
