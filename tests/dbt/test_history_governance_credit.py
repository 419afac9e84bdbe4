"""History, the governance feedback loop and credit scores across two builds of the hand-made city.

Build once (run 1), then land changes the way CDC does — market regulation cancels ACME (whose
employee still has an active social-insurance enrolment) and public security cancels the deceased
WANG's registration — and build again (run 2) on the same warehouse.
"""

from __future__ import annotations

import datetime as dt
import json

import duckdb
import handmade_city as city
import pytest

from citydata.warehouse.dbt_build import build
from citydata.warehouse.direct import load_frames, pg_text
from citydata.warehouse.raw import RawEvent, append_events

RUN_1, RUN_2 = "2026-11-22 00:00:00+00", "2026-11-23 00:00:00+00"
T2 = dt.datetime(2026, 9, 1, 8, 0, tzinfo=dt.UTC)
# Only what these features need (the whole project builds in the other dbt tests); cautious indirect
# selection keeps tests of unselected models out.
SELECT = ("+conflicts +person_registrations_history +legal_entity_status_history "
          "+credit_profiles +credit_records_public")


def _update(con, connectors, connector: str, table: str, row: dict) -> None:
    """Append one CDC update event (op 'u', a later source position) for `row`."""
    cfg = next(c for c in connectors if c.name == connector)
    tcfg = cfg.table(table)
    values = {k: pg_text(v) for k, v in row.items()}
    key = json.dumps({k: values[k] for k in tcfg.primary_key}, ensure_ascii=False, separators=(",", ":"))
    event = RawEvent(cfg.topic(tcfg), 0, 1000, key, "u", 1, 0, "test", None, False, None, None,
                     dt.datetime.now(dt.UTC), None, values)
    assert append_events(con, connector, table, [event]) == 1


def _frame_row(frames, source: tuple[str, str], column: str, value: object) -> dict:
    frame = frames[source]
    return frame[frame[column] == value].iloc[0].to_dict()


@pytest.fixture(scope="module")
def two_runs(tmp_path_factory, connectors, dbt_project):
    path = tmp_path_factory.mktemp("history") / "warehouse.duckdb"
    frames = city.frames()
    con = duckdb.connect(str(path))
    try:
        load_frames(con, connectors, frames)
    finally:
        con.close()
    with pytest.MonkeyPatch.context() as env:
        env.setenv("DBT_INDIRECT_SELECTION", "cautious")
        build(dbt_project, path, select=SELECT, vars={"run_at": RUN_1})
        con = duckdb.connect(str(path))
        try:
            acme = _frame_row(frames, ("market_regulation", "enterprises"), "enterprise_id", 1)
            _update(con, connectors, "market_regulation", "enterprises",
                    {**acme, "status": "cancelled", "updated_at": T2})
            wang = _frame_row(frames, ("public_security", "persons"), "person_no", 3)
            _update(con, connectors, "public_security", "persons", {**wang, "status": "cancelled", "updated_at": T2})
        finally:
            con.close()
        build(dbt_project, path, select=SELECT, vars={"run_at": RUN_2})

    def query(sql: str, params: list | None = None) -> list[tuple]:
        c = duckdb.connect(str(path), read_only=True)
        try:
            return c.execute(sql, params or []).fetchall()
        finally:
            c.close()

    return query


def _at(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text)


def test_history_keeps_both_versions(two_runs):
    rows = two_runs("select status, valid_from, valid_to, is_current from history.legal_entity_status_history "
                    "where legal_entity_id = ? order by valid_from", [city.ACME])
    assert rows == [("active", city.T0, T2, False), ("cancelled", T2, None, True)]
    people = two_runs("select registration_status, valid_to from history.person_registrations_history "
                      "where person_record_id = 3 order by valid_from")
    assert people == [("active", T2), ("cancelled", None)]
    one_version = two_runs("select count(*) from history.person_registrations_history where person_record_id = 1")
    assert one_version == [(1,)]


@pytest.mark.parametrize(("day", "status"), [("2026-06-01", "active"), ("2026-10-01", "cancelled")])
def test_status_on_a_date_is_one_query(two_runs, day, status):
    sql = ("select status from history.legal_entity_status_history where legal_entity_id = ? "
           "and valid_from <= cast(? as timestamptz) and (valid_to is null or valid_to > cast(? as timestamptz))")
    assert two_runs(sql, [city.ACME, day, day]) == [(status,)]


def test_new_conflict_is_seen_first_in_run_2(two_runs):
    rows = two_runs("select subject, department_to_fix, first_seen_at, last_seen_at, is_open from governance.conflicts "
                    "where conflict_type = 'cancelled_enterprise_still_insuring'")
    assert rows == [(city.ACME, "hrss", _at(RUN_2), _at(RUN_2), True)]


def test_fixed_conflict_is_closed_and_lasting_one_remembered(two_runs):
    closed = two_runs("select first_seen_at, last_seen_at, is_open, closed_at from governance.conflicts "
                      "where conflict_type = 'deceased_but_registered_active'")
    assert closed == [(_at(RUN_1), _at(RUN_1), False, _at(RUN_2))]
    lasting = two_runs("select distinct first_seen_at, last_seen_at, is_open from governance.conflicts "
                       "where conflict_type = 'invalid_identifier'")
    assert lasting == [(_at(RUN_1), _at(RUN_2), True)]
    assert two_runs("select count(*) = count(distinct conflict_id) from governance.conflicts") == [(True,)]


def test_expired_penalties_leave_public_view_but_stay_in_history(two_runs):
    public = {r[0] for r in two_runs("select credit_record_id from credit.credit_records_public")}
    every = {r[0] for r in two_runs("select credit_record_id from credit.credit_records")}
    assert {"ndrc:1", "ndrc:4"} <= every - public  # publicity ended 2026-01-10 and 2026-03-01
    assert "ndrc:2" in public
    profile = two_runs("select credit_score, score_explanation from credit.credit_profiles where subject_code = ?",
                       [city.ACME])
    assert profile == [(95, "100 base; -10 x 1 public penalty; +5 tax rating A = 95")]
