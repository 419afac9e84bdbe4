"""Write–audit–publish on a built synthetic warehouse: the run record, Data Docs, baselines against the
published version (row count, drift), incremental validation of the changed partition, and quarantined
rows equal to the defects the synthetic city injected."""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import duckdb
import pytest
from city_warehouse import build_city_warehouse

from citydata.publishing import gate_and_publish
from citydata.quality.quarantine import list_quarantined
from citydata.quality.runs import failures
from citydata.quality.suites import load_suites
from citydata.quality.warehouses import DuckWarehouse
from citydata.settings import PROJECT_ROOT, Settings

PERSONS, SEED = 600, 20261122
RUN_1, RUN_2 = "2026-11-22T02:00:00+00:00", "2026-11-23T02:00:00+00:00"
ID_CHECKED = {"hrss__enrolments", "public_security__persons", "civil_affairs__marriages", "health__births"}


@pytest.fixture(scope="module")
def city():
    from citydata import synth

    return synth.generate(PERSONS, SEED)


@pytest.fixture(scope="module")
def built(tmp_path_factory, connectors, city) -> Path:
    return build_city_warehouse(tmp_path_factory.mktemp("wap"), connectors, city)


@pytest.fixture
def settings(built, tmp_path) -> Settings:
    """A private copy of the built warehouse, published once (run 1)."""
    var = tmp_path / "var"
    var.mkdir()
    shutil.copy(built, var / "warehouse.duckdb")
    return Settings(var_dir=var)


@pytest.fixture(scope="module")
def suites():
    return load_suites(PROJECT_ROOT / "expectations")


def _query(settings: Settings, sql: str) -> list[tuple]:
    con = duckdb.connect(str(settings.warehouse_path))
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def _result(outcome, table: str, expectation: str, column: str | None = None):
    return next(e for t in outcome.gate.tables if t.table == table for e in t.expectations
                if e.expectation == expectation and e.column == column and "published" in e.detail)


def test_publish_records_the_run_and_renders_data_docs(settings, suites):
    first = gate_and_publish(settings, suites, run_at=RUN_1)
    assert first.gate.passed and first.published["published.persons"] == first.counts["population.persons"]
    baseline = _result(first, "population.persons", "expect_table_row_count_to_be_between")
    assert baseline.success and baseline.detail.startswith("no published version")
    second = gate_and_publish(settings, suites, run_at=RUN_2)
    assert second.gate.passed
    same = _result(second, "population.persons", "expect_column_kl_divergence_to_be_less_than", "birth_year")
    assert same.success and same.observed < 0.01
    runs = _query(settings, "select mode, passed, published, datasets from quality.gate_runs order by run_at")
    assert runs == [("full", True, True, len(first.gate.tables))] * 2
    index = settings.data_docs_dir / "index.html"
    assert index.exists() and "population.persons" in index.read_text(encoding="utf-8")
    assert {s["department"] for s in second.scorecards} >= {"hrss", "public_security", "market_regulation"}


def test_flipped_birth_years_are_caught_by_drift_and_the_last_good_version_stays(settings, suites):
    gate_and_publish(settings, suites, run_at=RUN_1)
    before = _query(settings, "select count(distinct birth_date), count(*) from published.persons")[0]
    _query(settings, "update population.persons set birth_date = date '1990-06-01'")  # all born in one year
    outcome = gate_and_publish(settings, suites, run_at=RUN_2)
    assert not outcome.gate.passed and outcome.published == {}
    drift = _result(outcome, "population.persons", "expect_column_kl_divergence_to_be_less_than", "birth_year")
    assert not drift.success and drift.observed > 1
    assert _query(settings, "select count(distinct birth_date), count(*) from published.persons")[0] == before
    con = duckdb.connect(str(settings.warehouse_path))
    recorded = failures(DuckWarehouse(con))
    con.close()
    blocking = [f for f in recorded if f["severity"] == "block"]
    assert [(f["dataset"], f["expectation"], f["column"], f["department"]) for f in blocking] == [
        ("population.persons", "expect_column_kl_divergence_to_be_less_than", "birth_year", "public_security")]
    assert blocking[0]["rows"] == before[1]
    assert _query(settings, "select passed, published from quality.gate_runs order by run_at") == [
        (True, True), (False, False)]


def test_row_count_collapse_blocks_publication(settings, suites):
    gate_and_publish(settings, suites, run_at=RUN_1)
    _query(settings, "delete from legal_entity.legal_entities where legal_entity_id in (select legal_entity_id "
                     "from legal_entity.legal_entities using sample 40 percent (bernoulli, 7))")
    outcome = gate_and_publish(settings, suites, run_at=RUN_2)
    assert ("legal_entity.legal_entities", "expect_table_row_count_to_be_between") in {
        (t, e.expectation) for t, e in outcome.gate.failures()}
    assert outcome.published == {}


def test_incremental_gate_checks_only_the_changed_rows(settings, suites):
    assert gate_and_publish(settings, suites, run_at=RUN_1).gate.passed
    # one enrolment changes at the source: its new version carries an insurance type HRSS does not use
    _query(settings, """
        insert into raw.hrss__enrolments
        select * replace ('u' as _op, _source_seq + 1 as _source_seq, 'space_travel' as insurance_type,
                          _loaded_at + interval 1 hour as _loaded_at)
        from raw.hrss__enrolments where enrolment_id = (select min(enrolment_id) from raw.hrss__enrolments)""")
    outcome = gate_and_publish(settings, suites, run_at=RUN_2, incremental=True)
    table = next(t for t in outcome.gate.tables if t.table == "raw.hrss__enrolments__current")
    assert table.rows > 100 and table.rows_validated == 1
    insurance = next(e for e in table.expectations if e.column == "insurance_type")
    assert insurance.unexpected_count == 1 and not insurance.success
    untouched = next(t for t in outcome.gate.tables if t.table == "raw.tax__taxpayers__current")
    assert untouched.rows_validated == 0
    con = duckdb.connect(str(settings.warehouse_path))
    rows = list_quarantined(con, "hrss")
    con.close()
    run_2 = rows[(rows["_quarantined_at"].astype(str).str.startswith("2026-11-23")) & (rows["_column"] == "insurance_type")]
    assert len(run_2) == 1 and '"space_travel"' in run_2["_record"].iloc[0]


def test_quarantined_identifiers_equal_the_injected_wrong_check_digits(settings, suites, city):
    outcome = gate_and_publish(settings, suites, run_at=RUN_1)
    assert outcome.gate.passed
    quarantined = set(_query(settings, """
        select source_table, source_column, source_record_id
        from quarantine.intermediate__int_person_identifiers_unioned
        where _column = 'is_valid'"""))
    final = city.final_tables()
    injected = set()
    for row in city.defects.itertuples(index=False):
        source = f"{row.connector}__{row.table}"
        if row.defect_type != "id_wrong_check_digit" or source not in ID_CHECKED:
            continue
        frame = final[(row.connector, row.table)]
        pk = frame.columns[0]
        kept = frame[frame[pk] == row.pk]
        if len(kept) and kept[row.column].notna().all():  # not deleted or blanked later
            injected.add((source, row.column, str(row.pk)))
    assert len(injected) > 20
    assert quarantined == injected


def _deliver_wrong_check_characters(settings: Settings, percent: int) -> int:
    """HRSS sends updates for ``percent``% of its enrolments, each ID number with a wrong check character;
    the incremental dbt build takes them in. Returns how many were sent."""
    from citydata.warehouse.dbt_build import build

    _query(settings, f"""
        insert into raw.hrss__enrolments
        select * replace ('u' as _op, _source_seq + 1 as _source_seq,
                          substr(id_number, 1, 17) || case when right(id_number, 1) = '0' then '1' else '0' end
                              as id_number,
                          _loaded_at + interval 1 hour as _loaded_at)
        from raw.hrss__enrolments
        where _op = 'r' and length(id_number) = 18 and hash(enrolment_id) % 100 < {percent}""")
    sent = _query(settings, "select count(*) from raw.hrss__enrolments where _op = 'u'")[0][0]
    build(PROJECT_ROOT / "dbt_project", settings.warehouse_path)
    return sent


@pytest.mark.parametrize(("percent", "blocks"), [(1, False), (12, True)])
def test_a_delivery_above_the_defect_threshold_blocks_and_the_previous_version_stays(settings, suites, percent,
                                                                                     blocks):
    assert gate_and_publish(settings, suites, run_at=RUN_1).gate.passed
    before = _query(settings, "select count(*), count(employer_uscc) from published.persons")[0]
    assert _deliver_wrong_check_characters(settings, percent) > 0
    outcome = gate_and_publish(settings, suites, run_at=RUN_2, incremental=True)
    hrss = [(t, e.expectation, e.department) for t, e in outcome.gate.failures() if e.department == "hrss"]
    if blocks:
        assert not outcome.gate.passed and outcome.published == {}
        assert ("intermediate.int_person_identifiers_unioned", "expect_column_values_to_be_in_set", "hrss") in hrss
        assert _query(settings, "select count(*), count(employer_uscc) from published.persons")[0] == before
    else:
        assert outcome.gate.passed and hrss == [] and outcome.published


def test_incremental_uniqueness_sees_the_rows_sharing_a_changed_key(settings, suites):
    assert gate_and_publish(settings, suites, run_at=RUN_1).gate.passed
    _query(settings, "insert into population.persons select * replace (loaded_at + interval 1 hour as loaded_at) "
                     "from population.persons where person_id = (select min(person_id) from population.persons)")
    outcome = gate_and_publish(settings, suites, run_at=RUN_2, incremental=True)
    unique = next(e for t, e in outcome.gate.failures() if t == "population.persons"
                  and e.expectation == "expect_column_values_to_be_unique")
    assert unique.unexpected_count == 2 and outcome.published == {}
    scoped = [v for v in outcome.gate.validations if v.suite_name == "population.persons (keys of person_id rows)"]
    assert len(scoped) == 1 and scoped[0].results[0].result["element_count"] == 2


def test_an_unchanged_raw_view_keeps_the_last_passed_runs_results_and_a_delete_is_a_change(settings, suites):
    first = gate_and_publish(settings, suites, run_at=RUN_1)
    assert first.gate.passed
    # HRSS deletes one enrolment at the source: its view loses a row, so its log's change counts
    _query(settings, """
        insert into raw.hrss__enrolments
        select * replace ('d' as _op, _source_seq + 1 as _source_seq, _loaded_at + interval 1 hour as _loaded_at)
        from raw.hrss__enrolments where enrolment_id = (select min(enrolment_id) from raw.hrss__enrolments)""")
    # a week on: the views nothing landed in are not read, but their freshness is judged again
    later = (dt.datetime.now(dt.UTC) + dt.timedelta(days=7)).isoformat(timespec="seconds")
    outcome = gate_and_publish(settings, suites, run_at=later, incremental=True)
    tables = {t.table: t for t in outcome.gate.tables}
    before = {t.table: t for t in first.gate.tables}
    tax, hrss = tables["raw.tax__taxpayers__current"], tables["raw.hrss__enrolments__current"]
    assert tax.carried_from is not None and tax.carried_from.startswith("2026-11-22")
    assert hrss.carried_from is None and hrss.rows == before["raw.hrss__enrolments__current"].rows - 1
    assert tax.rows == before["raw.tax__taxpayers__current"].rows and tax.rows_validated == 0
    for was, now in zip(before[tax.table].expectations, tax.expectations, strict=True):
        assert (now.expectation, now.column) == (was.expectation, was.column)
        if now.expectation == "expect_column_max_to_be_between":  # freshness: judged at the new run time
            assert not now.success and "carried" not in now.detail
        else:
            assert (now.success, now.unexpected_count) == (was.success, was.unexpected_count)
            assert now.detail.startswith("carried from")
    # GE validated only freshness of the carried view, on the newest load time the first run recorded
    read = [r for v in outcome.gate.validations if v.suite_name.startswith(tax.table) for r in v.results]
    assert [r.expectation_config.type for r in read] == ["expect_column_max_to_be_between"]
    assert str(read[0].result["observed_value"])[:19] == str(before[tax.table].watermark)[:19]
    # a third run carries from the second, without the note piling up
    third = gate_and_publish(settings, suites, incremental=True,
                             run_at=(dt.datetime.fromisoformat(later) + dt.timedelta(hours=1)).isoformat())
    carried = next(t for t in third.gate.tables if t.table == tax.table)
    assert carried.carried_from == dt.datetime.fromisoformat(later).isoformat()
    assert all(e.detail.count("carried from") <= 1 for e in carried.expectations)


def test_an_incremental_run_counts_distinct_keys_from_the_changed_rows_as_counting_them_all(settings, suites,
                                                                                               monkeypatch):
    """After a run that found every key distinct, the profile counts distinct keys from the changed rows
    (profile.py); the uniqueness scores equal counting every key — with a duplicated person, a repeated
    identifier occurrence (a key of three columns) and a changed occurrence with a null in its key."""
    import dataclasses

    from citydata.quality import profile
    from citydata.quality.scorecards import compute_scorecards

    assert gate_and_publish(settings, suites, run_at=RUN_1).gate.passed
    _query(settings, "insert into population.persons select * replace (loaded_at + interval 1 hour as loaded_at) "
                     "from population.persons where person_id = (select min(person_id) from population.persons)")
    _query(settings, "insert into intermediate.int_entity_identifiers_unioned "
                     "select * replace (loaded_at + interval 1 hour as loaded_at) "
                     "from intermediate.int_entity_identifiers_unioned order by source_record_id limit 2")
    _query(settings, "insert into intermediate.int_person_identifiers_unioned "
                     "select * replace (loaded_at + interval 1 hour as loaded_at, null as source_record_id) "
                     "from intermediate.int_person_identifiers_unioned order by source_record_id limit 1")
    shortcut: list[str] = []
    counted = profile.Plan.distinct_keys

    def spied(plan, relation, changed=None):
        if changed is not None:
            shortcut.append(relation)
        return counted(plan, relation, changed)

    monkeypatch.setattr(profile.Plan, "distinct_keys", spied)
    outcome = gate_and_publish(settings, suites, run_at=RUN_2, incremental=True)
    # the changed partition of these had keys to count; the occurrence with a null key was counted in full
    assert {'"population"."persons"', '"intermediate"."int_entity_identifiers_unioned"'} <= set(shortcut)
    assert '"intermediate"."int_person_identifiers_unioned"' not in shortcut
    tables = {t.table: t for t in outcome.gate.tables}
    assert tables["intermediate.int_entity_identifiers_unioned"].profile.distinct_keys == \
        tables["intermediate.int_entity_identifiers_unioned"].rows - 2
    con = duckdb.connect(str(settings.warehouse_path))
    try:
        from_changed = compute_scorecards(con, outcome.gate, "2026-11-24T02:00:00+00:00")
        all_counted = compute_scorecards(con, dataclasses.replace(outcome.gate, tables=[
            dataclasses.replace(t, profile=None) for t in outcome.gate.tables]), "2026-11-25T02:00:00+00:00")
    finally:
        con.close()
    assert len(from_changed) == len(all_counted) > 10
    for (_, one), (_, two) in zip(from_changed.iterrows(), all_counted.iterrows(), strict=True):
        assert one["dataset"] == two["dataset"]
        assert one["uniqueness"] == pytest.approx(two["uniqueness"], nan_ok=True), one["dataset"]
    persons = from_changed[from_changed["dataset"] == "population.persons"].iloc[0]
    assert persons["uniqueness"] < 1
