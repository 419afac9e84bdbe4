"""The gate on a real PostgreSQL warehouse: GE's SQL datasource (the checks run as SQL in PostgreSQL),
GE-syntax row conditions, derived columns, baselines against the published version, the transactional
swap into ``published`` and the run record."""

from __future__ import annotations

import psycopg2.errors
import pytest

from citydata.quality.gate import run_gate
from citydata.quality.publish import publish
from citydata.quality.runs import failures, record_run
from citydata.quality.suites import Suite
from citydata.quality.warehouses import PostgresWarehouse

DATABASE = "citydata_gate"
RUN_1, RUN_2 = "2026-11-22T02:00:00+00:00", "2026-11-23T02:00:00+00:00"


@pytest.fixture
def warehouse(pg):
    pg.create_database(DATABASE)
    conn = pg.connect(DATABASE)
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute("create schema population")
        cur.execute("create table population.persons (person_id varchar(18), source varchar(16), birth_date date, "
                    "loaded_at timestamptz)")
        cur.execute("insert into population.persons select lpad(i::text, 18, '0'), "
                    "case when i % 4 = 0 then 'hrss' else 'police' end, date '1950-01-01' + (i * 37 % 20000), "
                    "timestamptz '2026-11-21 12:00+00' from generate_series(1, 400) as i")
    conn.close()
    password = f":{pg.password}" if pg.password else ""
    wh = PostgresWarehouse(f"postgresql+psycopg2://{pg.user}{password}@{pg.host}:{pg.port}/{DATABASE}")
    yield wh
    wh.close()


SUITE = Suite.model_validate({"name": "marts", "layer": "marts", "tables": {"population.persons": {
    "derived": {"birth_year": "cast(extract(year from birth_date) as integer)"},
    "expectations": [
        {"expectation": "expect_column_values_to_be_unique", "kwargs": {"column": "person_id"}},
        {"expectation": "expect_column_values_to_match_regex",
         "kwargs": {"column": "person_id", "regex": "^[0-9]{17}[0-9X]$", "mostly": 0.9,
                    "row_condition": 'col("source")=="hrss"', "condition_parser": "great_expectations"},
         "department": "hrss"},
        {"expectation": "expect_table_row_count_to_be_between", "baseline": {"row_count_change": 0.2}},
        {"expectation": "expect_column_kl_divergence_to_be_less_than",
         "kwargs": {"column": "birth_year", "threshold": 0.1}, "baseline": {"distribution": True},
         "department": "public_security"},
        {"expectation": "expect_column_max_to_be_between", "kwargs": {"column": "loaded_at"}, "max_age_hours": 48},
    ]}}})


def test_gate_pushes_down_to_postgres_and_publishes_atomically(warehouse):
    first = run_gate(warehouse, [SUITE], run_at=RUN_1)
    assert first.passed, first.to_dict()
    table = first.tables[0]
    assert table.rows == table.rows_validated == 400
    assert [e.detail.startswith("no published version") for e in table.expectations[2:4]] == [True, True]
    # the batches were SQL query assets of GE's PostgreSQL datasource, not frames read into Python
    assert all(v.meta["batch_spec"]["query"].startswith("select ") for v in first.validations)
    assert publish(warehouse, ["population.persons"]) == {"published.persons": 400}
    record_run(warehouse, first, RUN_1, mode="full", published=True)

    warehouse.execute("update population.persons set birth_date = date '1990-06-01', person_id = 'bad' "
                      "where source = 'hrss'")  # a quarter: one birth year and broken HRSS ids
    second = run_gate(warehouse, [SUITE], run_at=RUN_2)
    failed = {(e.expectation, e.column): e for _, e in second.failures()}
    assert set(failed) == {("expect_column_values_to_be_unique", "person_id"),
                           ("expect_column_values_to_match_regex", "person_id"),
                           ("expect_column_kl_divergence_to_be_less_than", "birth_year")}
    assert failed[("expect_column_values_to_match_regex", "person_id")].unexpected_count == 100  # hrss rows only
    assert failed[("expect_column_values_to_be_unique", "person_id")].unexpected_count == 100
    record_run(warehouse, second, RUN_2, mode="full", published=False)
    recorded = {(f["expectation"], f["department"]) for f in failures(warehouse)}
    assert ("expect_column_kl_divergence_to_be_less_than", "public_security") in recorded
    # not published: the last good version is what consumers read
    assert warehouse.rows("select count(*) from published.persons where person_id = 'bad'") == [(0,)]
    assert warehouse.rows("select count(*) from quality.gate_runs") == [(2,)]


def test_publish_rolls_back_as_a_whole(warehouse):
    publish(warehouse, ["population.persons"])
    with pytest.raises(psycopg2.errors.UndefinedTable):
        publish(warehouse, ["population.persons", "population.no_such_table"])
    assert warehouse.rows("select count(*) from published.persons") == [(400,)]
