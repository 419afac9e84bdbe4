"""The publish path on a PostgreSQL warehouse (``CITYDATA_WAREHOUSE__ENGINE=postgres``), at small scale:
raw change logs landed into PostgreSQL, dbt's postgres target, the gate pushed down to PostgreSQL, the
publish swap with k-anonymised open data, quarantine, scorecards, the catalog, the department reports
and the portal's DuckDB serving copy — publishing the same rows as the same city on DuckDB. A blocking
gate keeps the previous version."""

from __future__ import annotations

import duckdb
import pytest

from citydata.orchestration.reports import scorecard_report
from citydata.publishing import build_libraries, gate_and_publish, snapshot_catalog
from citydata.quality.suites import load_suites
from citydata.settings import PROJECT_ROOT, Settings
from citydata.warehouse.direct import load_frames
from citydata.warehouse.engine import open_warehouse
from citydata.warehouse.raw import transaction

PERSONS, SEED = 600, 20261122
RUN_1, RUN_2 = "2026-11-22T02:00:00+00:00", "2026-11-23T02:00:00+00:00"


@pytest.fixture(scope="module")
def city():
    from citydata import synth

    return synth.generate(PERSONS, SEED)


@pytest.fixture(scope="module")
def suites():
    return load_suites(PROJECT_ROOT / "expectations")


def _land_build_publish(settings: Settings, connectors, city, suites):
    with open_warehouse(settings) as warehouse, transaction(warehouse.con):
        landed = load_frames(warehouse.con, connectors, city.final_tables())
    assert sum(landed.values()) == sum(len(f) for f in city.final_tables().values())
    built = build_libraries(settings, run_at=RUN_1)
    return built, gate_and_publish(settings, suites, run_at=RUN_1)


@pytest.fixture(scope="module")
def on_duckdb(tmp_path_factory, connectors, city, suites):
    settings = Settings(var_dir=tmp_path_factory.mktemp("duckdb"))
    return _land_build_publish(settings, connectors, city, suites)[1]


@pytest.fixture(scope="module")
def on_postgres(tmp_path_factory, pg_warehouse, connectors, city, suites):
    settings = Settings(var_dir=tmp_path_factory.mktemp("postgres"), warehouse=pg_warehouse("citydata_pipeline"))
    built, outcome = _land_build_publish(settings, connectors, city, suites)
    return settings, built, outcome


def _rows(settings: Settings, sql: str) -> list[tuple]:
    with open_warehouse(settings) as warehouse:
        return warehouse.rows(sql)


# dbt_project/macros/record_linkage.sql: names are compared by Jaro-Winkler on DuckDB, by exact agreement
# on PostgreSQL (it has no Jaro-Winkler without an extension). So a record whose name differs slightly from
# its person's (陈秀莉 / 陳秀莉) may stay unresolved on PostgreSQL: the one known difference between the
# engines' marts.
NAME_SIMILARITY = "unresolved_person_records"


def _without_name_similarity(counts: dict[str, int]) -> dict[str, int]:
    return {t: n for t, n in counts.items() if t.partition(".")[2] != NAME_SIMILARITY}


def test_postgres_publishes_the_rows_duckdb_publishes(on_postgres, on_duckdb):
    settings, built, outcome = on_postgres
    assert not settings.warehouse_path.exists()  # nothing went to a DuckDB file
    assert built.rows("persons") == on_duckdb.counts["population.persons"]  # dbt-postgres' own count
    assert outcome.gate.passed, [f"{t}: {e.expectation} {e.column} {e.detail}" for t, e in outcome.gate.failures()]
    assert [t.table for t in outcome.gate.tables] == [t.table for t in on_duckdb.gate.tables]
    assert _without_name_similarity(outcome.counts) == _without_name_similarity(on_duckdb.counts)
    assert _without_name_similarity(outcome.published) == _without_name_similarity(on_duckdb.published)
    assert set(outcome.published) == set(on_duckdb.published)
    assert outcome.published["published.persons"] > PERSONS / 2
    assert 0 < outcome.published["published.persons_open"] <= outcome.counts["population.persons_open"]
    assert _rows(settings, "select count(*) from published.persons") == [(outcome.published["published.persons"],)]
    kanon = _rows(settings, "select dataset, k, achieved from quality.kanon_checks")
    assert kanon and all(achieved >= k for _, k, achieved in kanon)


def test_records_unresolved_only_on_postgres_differ_in_name_from_their_person(on_postgres, on_duckdb):
    settings, _, outcome = on_postgres
    extra = outcome.published[f"published.{NAME_SIMILARITY}"] - on_duckdb.published[f"published.{NAME_SIMILARITY}"]
    assert extra >= 0
    differing = _rows(settings, f"""
        select count(*) from published.{NAME_SIMILARITY} as u join published.persons as p
            on p.person_id = u.best_candidate_person_id
        where u.problem = 'below_threshold' and (p.name is null or p.name <> u.person_name)""")[0][0]
    assert differing >= extra


def test_quarantined_rows_equal_the_gates_rejections_on_postgres(on_postgres, on_duckdb):
    settings, _, outcome = on_postgres
    rejected: dict[str, int] = {}
    for t in outcome.gate.tables:
        for e in t.expectations:  # one label per table, expectation and column (row conditions summed)
            label = f"{t.table}:{e.expectation}:{e.column}"
            rejected[label] = rejected.get(label, 0) + e.unexpected_count
    assert outcome.quarantined and sum(outcome.quarantined.values()) > 20
    assert {label: rejected[label] for label in outcome.quarantined} == outcome.quarantined
    assert outcome.quarantined == on_duckdb.quarantined
    table, label = "intermediate.int_person_identifiers_unioned", "expect_column_values_to_be_in_set:is_valid"
    stored = _rows(settings, "select count(*) from quarantine.intermediate__int_person_identifiers_unioned "
                             "where _column = 'is_valid' and not is_valid")
    assert stored == [(outcome.quarantined[f"{table}:{label}"],)]


def test_scorecards_catalog_and_reports_read_postgres(on_postgres, on_duckdb, connectors):
    settings, built, outcome = on_postgres
    stored = _rows(settings, "select count(*), count(distinct dataset) from quality.scorecards")
    assert stored == [(len(outcome.gate.tables), len(outcome.gate.tables))]
    by_department = {s["department"]: s for s in outcome.scorecards}
    for department, duck in ((s["department"], s) for s in on_duckdb.scorecards):
        for share in ("completeness", "validity", "uniqueness", "consistency"):
            assert by_department[department][share] == pytest.approx(duck[share]), (department, share)
    catalog = snapshot_catalog(settings, connectors, built.manifest_path, outcome.gate.to_dict(), outcome.counts)
    persons = next(t for t in catalog["tables"] if t["fullyQualifiedName"].endswith("population.persons"))
    assert {c["name"] for c in persons["columns"]} >= {"person_id", "birth_date", "gender"}
    report = scorecard_report(settings, "hrss", RUN_1[:10])
    assert report["datasets"] > 0


def test_the_serving_copy_holds_what_postgres_published(on_postgres):
    settings, _, outcome = on_postgres
    con = duckdb.connect(str(settings.serving_path), read_only=True)
    try:
        for table, rows in outcome.published.items():
            assert con.execute(f"select count(*) from {table}").fetchone()[0] == rows, table
        quarantined = con.execute("select count(*) from information_schema.tables where table_schema = 'quarantine'")
        assert quarantined.fetchone()[0] > 0
        assert con.execute("select count(*) from quality.scorecards").fetchone()[0] == len(outcome.gate.tables)
        assert con.execute("select typeof(birth_date) from published.persons limit 1").fetchone()[0] == "DATE"
    finally:
        con.close()


def test_a_blocking_gate_on_postgres_keeps_the_published_version(on_postgres, suites):
    settings, _, first = on_postgres
    before = _rows(settings, "select count(distinct birth_date), count(*) from published.persons")
    serving_version = settings.serving_path.stat().st_mtime_ns
    _rows(settings, "update population.persons set birth_date = date '1990-06-01'")  # all born in one year
    outcome = gate_and_publish(settings, suites, run_at=RUN_2)
    assert not outcome.gate.passed and outcome.published == {}
    assert [(t, e.expectation, e.column) for t, e in outcome.gate.failures()] == [
        ("population.persons", "expect_column_kl_divergence_to_be_less_than", "birth_year")]
    assert _rows(settings, "select count(distinct birth_date), count(*) from published.persons") == before
    assert _rows(settings, "select passed, published from quality.gate_runs order by run_at") == [
        (True, True), (False, False)]
    assert settings.serving_path.stat().st_mtime_ns == serving_version  # the portal keeps serving the last good
    assert first.published  # (the first run's publication is what stays)
