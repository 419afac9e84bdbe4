"""The GE gate on real DuckDB tables: verdicts, counts, severities, and write–audit–publish."""

from __future__ import annotations

import duckdb
import pytest

from citydata.errors import CityDataError
from citydata.quality.checks import pushed
from citydata.quality.gate import run_gate
from citydata.quality.publish import publish
from citydata.quality.suites import Suite, load_suite


def _suite(tables: dict) -> Suite:
    return Suite.model_validate({"name": "t", "layer": "marts", "tables": tables})


@pytest.fixture
def con():
    c = duckdb.connect()
    c.execute("create schema population; create table population.persons as select * from (values "
              "('110101199001011234', 'a'), ('110101199001011234', 'b'), (null, 'c')) t(person_id, name)")
    yield c
    c.close()


def test_blocking_failure_names_expectation_table_and_rows(con):
    suite = _suite({"population.persons": [
        {"expectation": "expect_column_values_to_be_unique", "kwargs": {"column": "person_id"}},
        {"expectation": "expect_column_values_to_not_be_null", "kwargs": {"column": "person_id"},
         "severity": "warn"},
        {"expectation": "expect_table_row_count_to_be_between", "kwargs": {"min_value": 1}},
    ]})
    result = run_gate(con, [suite])
    assert not result.passed
    failures = result.failures()
    assert [(t, e.expectation, e.column, e.unexpected_count) for t, e in failures] == [
        ("population.persons", "expect_column_values_to_be_unique", "person_id", 2)]
    warn = result.tables[0].expectations[1]
    assert warn.success is False and warn.severity == "warn" and warn.unexpected_count == 1


def test_passing_gate_and_publish_keeps_last_good_version(con):
    suite = _suite({"population.persons": [
        {"expectation": "expect_column_values_to_be_unique", "kwargs": {"column": "name"}}]})
    assert run_gate(con, [suite]).passed
    assert publish(con, ["population.persons"]) == {"published.persons": 3}
    con.execute("insert into population.persons values ('x', 'a')")  # a duplicate name: the gate blocks
    result = run_gate(con, [suite])
    assert not result.passed
    # the pipeline does not publish on failure: the published copy is still the last good one
    assert con.execute("select count(*) from published.persons").fetchone()[0] == 3


def test_missing_table_and_column_fail_instead_of_passing_silently(con):
    suite = _suite({"population.nothing": [
        {"expectation": "expect_table_row_count_to_be_between", "kwargs": {"min_value": 1}}],
        "population.persons": [
        {"expectation": "expect_column_values_to_not_be_null", "kwargs": {"column": "gone"}}]})
    result = run_gate(con, [suite])
    assert {(t, e.expectation) for t, e in result.failures()} == {
        ("population.nothing", "table_exists"), ("population.persons", "expect_column_values_to_not_be_null")}


def test_committed_suites_load(tmp_path):
    from citydata.quality.suites import load_suites
    from citydata.settings import PROJECT_ROOT

    suites = load_suites(PROJECT_ROOT / "expectations")
    assert {s.layer for s in suites} >= {"raw", "marts"}
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: x\nlayer: gold\ntables: {}\n")
    with pytest.raises(CityDataError, match="bad.yaml: field 'layer'"):
        load_suite(bad)


def test_row_conditions_are_pushed_into_the_query_with_ges_own_verdicts(con, monkeypatch):
    """A translatable row_condition becomes the batch query's WHERE clause; the counts and verdicts equal
    GE filtering the frame itself, and a condition the translator does not know is left to GE."""
    from citydata.quality import reads

    con.execute("insert into population.persons values ('bad', 'b'), ('also-bad', 'a'), ('110101199001011234', 'a')")
    checks = [
        {"expectation": "expect_column_values_to_match_regex",
         "kwargs": {"column": "person_id", "regex": "^[0-9]{17}[0-9X]$", "mostly": 0.6,
                    "row_condition": 'col("name")=="a"', "condition_parser": "great_expectations"}},
        {"expectation": "expect_column_values_to_not_be_null",
         "kwargs": {"column": "person_id", "row_condition": 'name=="c"', "condition_parser": "pandas"}},
        {"expectation": "expect_column_values_to_not_be_null",  # not `col == value`: GE filters
         "kwargs": {"column": "person_id", "row_condition": 'name>"b"', "condition_parser": "pandas"}},
    ]
    suite = _suite({"population.persons": checks})
    pushed_down = run_gate(con, [suite])
    assert [pushed(c["kwargs"])[1] for c in checks] == ['"name" = \'a\'', '"name" = \'c\'', None]
    monkeypatch.setattr(reads, "pushed", lambda kwargs: (kwargs, None))
    filtered_by_ge = run_gate(con, [suite])
    verdicts = [[(e.success, e.unexpected_count) for e in r.tables[0].expectations]
                for r in (pushed_down, filtered_by_ge)]
    assert verdicts[0] == verdicts[1] == [(True, 1), (False, 1), (False, 1)]


def test_a_table_that_cannot_be_read_fails_the_run_with_its_error_and_leaves_no_thread(con):
    """The tables are read on a worker thread: its error reaches the caller, and the thread ends."""
    import threading

    suite = _suite({"population.persons": {
        "derived": {"broken": "no_such_function(person_id)"},
        "expectations": [{"expectation": "expect_column_values_to_not_be_null", "kwargs": {"column": "broken"}}]}})
    with pytest.raises(duckdb.Error, match="no_such_function"):
        run_gate(con, [suite])
    assert not [t for t in threading.enumerate() if t.name.startswith("citydata-gate")]


def test_tables_are_read_ahead_only_within_the_row_budget(con, monkeypatch):
    """With room for one row, the reader reads the next table only once the current one is consumed."""
    import time

    from citydata.quality import reads
    from citydata.quality.warehouses import DuckWarehouse

    for n in range(3):
        con.execute(f"create table population.copy_{n} as select * from population.persons")
    entry = _suite({"population.persons": [
        {"expectation": "expect_column_values_to_not_be_null", "kwargs": {"column": "name"}}]}).tables[
        "population.persons"]
    started: list[str] = []

    def counting_read(warehouse, table, *args):
        started.append(table)
        return read(warehouse, table, *args)

    read = reads.read_table
    monkeypatch.setattr(reads, "read_table", counting_read)
    jobs = [(f"population.copy_{n}", entry, None, None) for n in range(3)]
    with reads.ReadAhead(DuckWarehouse(con), jobs, None, None, budget_rows=1) as tables:
        for consumed, table_reads in enumerate(tables):
            time.sleep(0.2)  # room for a reader that ignored the budget to run ahead
            assert table_reads.table == f"population.copy_{consumed}" and table_reads.held_rows == 3
            assert len(started) == consumed + 1
    assert started == [f"population.copy_{n}" for n in range(3)]
