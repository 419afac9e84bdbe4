"""The whole path at small scale: synthetic city → PostgreSQL → CDC → Kafka → DuckDB → dbt → GE →
publish → catalog → report, checked against the synthetic ground truth."""

from __future__ import annotations

import json

import pytest
from rich.console import Console

from citydata.catalog import lineage
from citydata.demo.run import run_demo
from citydata.settings import Settings

PERSONS = 600


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory):
    var = tmp_path_factory.mktemp("demo")
    settings = Settings(var_dir=var)
    settings.synth.persons = PERSONS
    settings.synth.seed = 11
    report = run_demo(settings, Console(quiet=True))
    return settings, report


def test_report_written_with_every_stage_ok(demo_run):
    settings, report = demo_run
    on_disk = json.loads(settings.report_path.read_text(encoding="utf-8"))
    assert on_disk["base_libraries"] == report["base_libraries"]
    stages = {s["name"]: s for s in on_disk["stages"]}
    assert all(s["status"] == "ok" for s in stages.values()), stages
    assert stages["live changes → CDC"]["rows"] > 0
    assert on_disk["gate"]["passed"] is True
    assert on_disk["ingest"]["dead_letters"] == 0


def test_report_has_department_scorecards_and_data_docs(demo_run):
    settings, report = demo_run
    cards = {c["department"]: c for c in report["scorecards"]}
    assert {"public_security", "civil_affairs", "health", "hrss", "market_regulation", "tax"} <= set(cards)
    for card in cards.values():
        assert 0.5 < card["completeness"] <= 1 and card["rows"] > 0
    assert 0.5 < cards["hrss"]["validity"] < 1  # HRSS delivers some wrong check characters
    assert sum(report["quarantined"].values()) > 0
    assert (settings.data_docs_dir / "index.html").exists()


def test_catalog_requests_written_for_openmetadata(demo_run):
    settings, report = demo_run
    om = report["openmetadata"]
    assert om["mode"] == "dry-run" and om["requests"] > 100
    written = sorted((settings.var_dir / "openmetadata" / "requests").glob("*.json"))
    assert len(written) == om["requests"]
    assert om["kinds"].get("lineage", 0) > 20


def test_base_library_counts_match_ground_truth(demo_run):
    _, report = demo_run
    expected, libs = report["expected"], report["base_libraries"]
    assert libs["population.persons"] == expected["population_persons"]
    assert libs["legal_entity.legal_entities"] == expected["legal_entities"]
    assert libs["credit.credit_profiles"] == expected["credit_subjects"]
    assert libs["credit.credit_records"] > 0


def test_live_changes_reached_the_warehouse(demo_run):
    """Every change applied to the sources during the live burst arrived: the raw current state
    equals the sources' final state, table by table."""
    settings, report = demo_run
    import duckdb

    con = duckdb.connect(str(settings.warehouse_path), read_only=True)
    try:
        for topic, n in report["source_rows_final"].items():
            connector, _schema, table = topic.split(".")
            landed = con.execute(f'select count(*) from raw."{connector}__{table}__current"').fetchone()[0]
            assert landed == n, topic
    finally:
        con.close()


def test_published_and_catalogued(demo_run):
    settings, report = demo_run
    assert report["published"]["published.persons"] == report["base_libraries"]["population.persons"]
    catalog = json.loads(settings.catalog_path.read_text(encoding="utf-8"))
    layers = {t["extension"]["layer"] for t in catalog["tables"]}
    assert {"source", "raw", "staging", "intermediate", "mart"} <= layers
    marts = [t for t in catalog["tables"] if t["extension"]["layer"] == "mart"]
    assert {t["extension"]["baseLibrary"] for t in marts} == {"population", "legal_entity", "credit", "governance",
                                                               "history"}
    for mart in marts:  # lineage from every mart reaches a department source table through its topic
        up = {n["layer"] for n in lineage(catalog, mart["fullyQualifiedName"], "upstream")["nodes"]}
        assert {"source", "topic", "raw", "staging"} <= up, mart["fullyQualifiedName"]
    persons = next(t for t in marts if t["name"] == "persons")
    assert persons["extension"]["gate"]["passed"] is True
    assert persons["profile"]["rowCount"] == report["base_libraries"]["population.persons"]


def test_open_microdata_published_k_anonymous_and_every_publication_audited(demo_run):
    import duckdb

    from citydata.circulation.context import open_audit_log
    from citydata.circulation.kanon import k_of
    from citydata.circulation.usage import load_usage

    settings, report = demo_run
    policy = load_usage(settings.circulation.policies_dir).datasets["population.persons_open"]
    con = duckdb.connect(str(settings.serving_path), read_only=True)
    try:
        published = con.execute("select * from published.persons_open").df()
        check = con.execute("select * from quality.kanon_checks").df().iloc[-1]
    finally:
        con.close()
    assert k_of(published, list(policy.quasi_identifiers)) >= policy.k == check["k"]
    assert check["rows_in"] == report["base_libraries"]["population.persons_open"]  # living persons
    assert check["rows_out"] == len(published) and check["suppressed"] <= policy.max_suppression * check["rows_in"]
    with open_audit_log(settings) as log:
        published_entries = {e["dataset"]: e for e in log.entries("publish")}
        assert {e["detail"]["file"] for e in log.entries("policy_change")} >= {"usage.yaml", "masking.yaml"}
    assert set(published_entries) == {t for t in report["base_libraries"]} | set(report["governance"]) | set(
        report["history"])
    assert published_entries["population.persons_open"]["detail"]["kanon"]["achieved"] >= policy.k
    circulation = report["circulation"]  # the run verified the log it appended to
    assert circulation["audit_ok"] and circulation["audit_entries"] == sum(circulation["audit_actions"].values())
    assert circulation["audit_actions"]["publish"] == len(published_entries)
    assert circulation["k_anonymity"]["population.persons_open"]["k"] == policy.k


def test_deaths_still_active_reported_back_to_public_security(demo_run):
    _, report = demo_run
    assert report["governance"]["governance.household_conflicts"] == \
        report["expected"]["deceased_still_active_detectable"]


def test_failing_gate_keeps_last_good_version_published(demo_run):
    """Runs last: it corrupts the built mart. A duplicate person blocks publication; the published
    copy stays the previous good one and the failure names expectation, table and rows."""
    import duckdb

    from citydata.publishing import gate_and_publish
    from citydata.quality.suites import load_suites

    settings, report = demo_run
    con = duckdb.connect(str(settings.warehouse_path))
    con.execute("insert into population.persons select * from population.persons limit 3")
    con.close()
    outcome = gate_and_publish(settings, load_suites(settings.expectations_dir))
    gate = outcome.gate
    assert not gate.passed and outcome.published == {}
    failures = {(t, e.expectation, e.column): e.unexpected_count for t, e in gate.failures()}
    assert failures[("population.persons", "expect_column_values_to_be_unique", "person_id")] == 6
    con = duckdb.connect(str(settings.warehouse_path), read_only=True)
    assert con.execute("select count(*) from published.persons").fetchone()[0] == \
        report["base_libraries"]["population.persons"]
    con.close()
    on_disk = json.loads(settings.gate_path.read_text(encoding="utf-8"))
    assert on_disk["passed"] is False
