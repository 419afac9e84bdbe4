"""Quarantine and scorecards on small built synthetic warehouses: SQL-computed rejected rows equal GE's
unexpected counts, the steward's per-department listing, the staging validity gate reacting to an
injected wrong-check-digit rate, and scorecard history."""

from __future__ import annotations

import shutil
from pathlib import Path

import duckdb
import pytest
from city_warehouse import build_city_warehouse

from citydata.quality.gate import run_gate
from citydata.quality.quarantine import (
    OCCURRENCE_KEY,
    gate_specs,
    list_quarantined,
    quarantine_gate,
    quarantine_rows,
    supports,
)
from citydata.quality.scorecards import compute_scorecards, department_scorecards, scorecard_trend
from citydata.quality.suites import load_suites
from citydata.quality.unchanged import change_log
from citydata.quality.warehouses import as_warehouse
from citydata.settings import PROJECT_ROOT

PERSONS, SEED = 300, 20261122
RUN_1, RUN_2 = "2026-11-22T02:00:00+00:00", "2026-11-23T02:00:00+00:00"
HRSS_ID_VALIDITY = ("intermediate.int_person_identifiers_unioned", 'col("source_table")=="hrss__enrolments"')
LAYERS = ("raw", "staging", "marts")


def _build(tmp_path_factory, connectors, name: str, wrong_check_digit: float) -> Path:
    synth = pytest.importorskip("citydata.synth")
    city = synth.generate(PERSONS, SEED, synth.DefectRates(id_wrong_check_digit=wrong_check_digit))
    return build_city_warehouse(tmp_path_factory.mktemp(name), connectors, city)


@pytest.fixture(scope="module")
def suites():
    return load_suites(PROJECT_ROOT / "expectations")


@pytest.fixture(scope="module")
def clean_city(tmp_path_factory, connectors) -> Path:
    return _build(tmp_path_factory, connectors, "clean", 0.01)


@pytest.fixture(scope="module")
def defective_city(tmp_path_factory, connectors) -> Path:
    return _build(tmp_path_factory, connectors, "defective", 0.25)


def _open(path: Path, tmp_path: Path) -> duckdb.DuckDBPyConnection:
    copy = tmp_path / path.parent.name / "warehouse.duckdb"
    copy.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy(path, copy)
    return duckdb.connect(str(copy))


def _hrss_validity(con, suites, gate):
    return next((spec, result) for table, spec, result in gate_specs(con, suites, gate)
                if (table, spec.kwargs.get("row_condition")) == HRSS_ID_VALIDITY)


def test_quarantined_counts_equal_ge_unexpected_counts(clean_city, suites, tmp_path):
    con = _open(clean_city, tmp_path)
    gate = run_gate(con, suites, layers=LAYERS)
    checked = with_rows = from_logs = 0
    for table, spec, result in gate_specs(con, suites, gate):
        if not supports(spec) or result.detail:
            continue
        key = OCCURRENCE_KEY if table.startswith("intermediate.") else [
            con.execute(f"select * from {table} limit 0").description[0][0]]
        # a raw current-state view's rejected rows are found in its change log
        found = quarantine_rows(con, table, spec, key, run_at=RUN_1, log=change_log(as_warehouse(con), table))
        assert found == result.unexpected_count, (table, spec)
        checked += 1
        with_rows += found > 0
        from_logs += found > 0 and table.startswith("raw.")
    assert checked >= 30 and with_rows >= 4  # every layer's row-level checks, several with rejected rows
    assert from_logs >= 2
    # the identifier checks' table holds exactly the rejected occurrences, once each, even when re-run
    expected = sum(r.unexpected_count for t, _, r in gate_specs(con, suites, gate) if t == HRSS_ID_VALIDITY[0])
    table = "quarantine.intermediate__int_person_identifiers_unioned"
    assert con.execute(f"select count(*) from {table}").fetchone()[0] == expected > 0
    spec, result = _hrss_validity(con, suites, gate)
    assert quarantine_rows(con, HRSS_ID_VALIDITY[0], spec, OCCURRENCE_KEY, run_at=RUN_1) == result.unexpected_count
    assert con.execute(f"select count(*) from {table}").fetchone()[0] == expected
    row = con.execute(f"select _expectation, _column, _department, _quarantined_at, is_valid, source_table "
                      f"from {table} where _department = 'hrss' limit 1").fetchone()
    assert row[:3] == ("expect_column_values_to_be_in_set", "is_valid", "hrss")
    assert row[3].isoformat() == RUN_1 and row[4] is False and row[5] == "hrss__enrolments"
    con.close()


def test_steward_listing_filters_by_department(clean_city, suites, tmp_path):
    con = _open(clean_city, tmp_path)
    gate = run_gate(con, suites, layers=LAYERS)
    written = quarantine_gate(con, suites, gate, RUN_1, include_passing=True)
    everything = list_quarantined(con)
    assert len(everything) == sum(written.values()) > 0
    departments = set(everything["_department"].dropna())
    assert "hrss" in departments and len(departments) >= 3
    hrss = list_quarantined(con, "hrss")
    assert len(hrss) > 0 and set(hrss["_department"]) == {"hrss"}
    assert len(hrss) == (everything["_department"] == "hrss").sum()
    assert hrss["_record"].str.contains('"source_table":"hrss__enrolments"').all()
    assert list_quarantined(con, "no_such_department").empty
    con.close()


def test_wrong_check_digit_rate_quarantines_more_and_blocks_above_threshold(clean_city, defective_city, suites,
                                                                              tmp_path):
    counts = {}
    for name, path in (("clean", clean_city), ("defective", defective_city)):
        con = _open(path, tmp_path)
        gate = run_gate(con, suites, layers=("staging",))
        spec, result = _hrss_validity(con, suites, gate)
        assert spec.kwargs["mostly"] == 0.95 and spec.severity == "block" and spec.department == "hrss"
        counts[name] = quarantine_rows(con, HRSS_ID_VALIDITY[0], spec, OCCURRENCE_KEY, run_at=RUN_1)
        assert counts[name] == result.unexpected_count
        total = con.execute("select count(*) from intermediate.int_person_identifiers_unioned "
                            "where source_table = 'hrss__enrolments'").fetchone()[0]
        rate = counts[name] / total
        if name == "clean":
            assert rate < 0.05 and result.success
            assert ("intermediate.int_person_identifiers_unioned", result) not in gate.failures()
        else:
            assert rate > 0.05 and not result.success and not gate.passed
            assert ("intermediate.int_person_identifiers_unioned", result) in gate.failures()
            assert len(list_quarantined(con, "hrss")) == counts[name]
        con.close()
    assert counts["defective"] > 3 * counts["clean"]


def test_scorecards_for_two_runs_give_a_two_point_trend(clean_city, suites, tmp_path):
    con = _open(clean_city, tmp_path)
    gate = run_gate(con, suites, layers=LAYERS)
    first = compute_scorecards(con, gate, RUN_1)
    compute_scorecards(con, gate, RUN_2)
    compute_scorecards(con, gate, RUN_2)  # a re-run of the same run replaces, it does not add history
    assert len(first) == len(gate.tables)
    assert con.execute("select count(*) from quality.scorecards").fetchone()[0] == 2 * len(gate.tables)
    trend = scorecard_trend(con, "staging.stg_hrss__enrolments")
    assert [p["run_at"] for p in trend] == [RUN_1, RUN_2]
    one, two = trend
    assert one["department"] == "hrss" and one["rows"] > 100
    for share in ("completeness", "validity", "uniqueness"):
        assert 0.9 <= one[share] <= 1.0, share
    assert 0.5 < one["consistency"] < 1.0  # some enrolments are in open governance conflicts
    assert two["timeliness_hours"] == pytest.approx(one["timeliness_hours"] + 24)
    ids = scorecard_trend(con, "intermediate.int_person_identifiers_unioned")[0]
    assert ids["validity"] < 1.0 and ids["uniqueness"] == 1.0
    assert scorecard_trend(con, "no.such_table") == []
    departments = department_scorecards(first)
    assert {"hrss", "public_security", "tax"} <= set(departments["department"])
    con.close()


def test_an_incremental_run_carries_the_scores_of_datasets_nothing_landed_in(clean_city, suites, tmp_path):
    """Nothing newer than the watermark and the same row count: the previous scores, aged timeliness, and
    the dataset itself not read again (here it is even gone). A dataset that changed is scored again."""
    import dataclasses

    con = _open(clean_city, tmp_path)
    gate = run_gate(con, suites, layers=LAYERS)
    compute_scorecards(con, gate, RUN_1)
    unchanged, changed = "staging.stg_hrss__enrolments", "staging.stg_public_security__persons"
    second = dataclasses.replace(gate, tables=[
        dataclasses.replace(t, rows_validated=0 if t.table == unchanged else t.rows_validated, profile=None)
        for t in gate.tables])  # a later run: its gate has not profiled the data changed below
    con.execute(f"alter table {unchanged} rename to stg_hrss__enrolments_away")
    con.execute(f"update {changed} set gender = null where person_record_id in "
                f"(select person_record_id from {changed} limit 5)")
    compute_scorecards(con, second, RUN_2)
    one, two = scorecard_trend(con, unchanged)
    for share in ("completeness", "validity", "uniqueness", "rows"):
        assert two[share] == one[share], share
    assert two["timeliness_hours"] == pytest.approx(one["timeliness_hours"] + 24)
    before, after = scorecard_trend(con, changed)
    assert after["completeness"] < before["completeness"]
    con.close()


def test_the_gates_one_pass_profile_scores_as_reading_the_dataset_does(clean_city, suites, tmp_path):
    """The gate counts what the scorecards measure in the pass it makes anyway (over a raw view's
    temporary copy); the scores equal those of reading each dataset again."""
    import dataclasses

    con = _open(clean_city, tmp_path)
    gate = run_gate(con, suites, layers=LAYERS)
    assert all(t.profile is not None for t in gate.tables)
    profiled = compute_scorecards(con, gate, RUN_1)
    reread = compute_scorecards(con, dataclasses.replace(
        gate, tables=[dataclasses.replace(t, profile=None) for t in gate.tables]), RUN_2)
    con.close()
    assert len(profiled) == len(gate.tables) > 10
    for (_, one), (_, two) in zip(profiled.iterrows(), reread.iterrows(), strict=True):
        assert one["dataset"] == two["dataset"]
        for share in ("rows", "completeness", "validity", "uniqueness", "consistency"):
            assert one[share] == pytest.approx(two[share], nan_ok=True), (one["dataset"], share)
        assert two["timeliness_hours"] == pytest.approx(one["timeliness_hours"] + 24, nan_ok=True)
