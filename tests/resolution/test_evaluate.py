"""Person entity resolution on a synthetic city: build the resolution models, score them against truth."""

from __future__ import annotations

import duckdb
import pandas as pd
import pytest

from citydata.resolution import evaluate, evaluate_warehouse, report
from citydata.resolution.evaluate import evaluate_entities
from citydata.settings import PROJECT_ROOT
from citydata.warehouse.dbt_build import build
from citydata.warehouse.direct import load_frames

PERSONS, SEED = 1500, 20261122


@pytest.fixture(scope="module")
def city():
    synth = pytest.importorskip("citydata.synth")
    return synth.generate(PERSONS, SEED)


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory, connectors, city):
    path = tmp_path_factory.mktemp("resolution") / "warehouse.duckdb"
    con = duckdb.connect(str(path))
    try:
        load_frames(con, connectors, city.final_tables())
    finally:
        con.close()
    build(PROJECT_ROOT / "dbt_project", path)  # whole project: its data tests span the libraries
    return path


@pytest.fixture(scope="module")
def result(warehouse, city) -> dict:
    return evaluate_warehouse(warehouse, city.truth)


def test_records_without_valid_id_resolve_precisely(result):
    m = result["without_valid_id"]
    print(report(result))
    assert result["records_without_truth"] == 0
    assert m["records"] > 50  # wrong check characters and missing ID cells the synth injects
    assert m["precision"] >= 0.95
    assert m["recall"] > 0.8
    assert result["overall"]["precision"] >= 0.99


def test_entity_numbers_are_reported_next_to_the_person_numbers(result):
    e = result["entities"]
    assert e["records_without_truth"] == 0
    assert e["without_valid_uscc"]["records"] > 20 and e["without_valid_uscc"]["wrong"] == 0
    assert e["overall"]["f1"] > 0.99
    assert e["queue_rows"] == e["without_valid_uscc"]["unresolved"]
    text = report(result)
    assert "entity occurrences without a valid USCC" in text and "unresolved_entity_occurrences" in text


def test_unresolved_queue_holds_exactly_the_unresolved_records(result, warehouse):
    m = result["without_valid_id"]
    assert result["queue_rows"] == m["unresolved"]
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        rows = con.execute("select problem, department_to_fix, count(*) from governance.unresolved_person_records "
                           "group by all").fetchall()
    finally:
        con.close()
    # The synth gives some records a person whose every ID cell is unusable: nobody to match.
    assert m["unresolved"] >= m["records"] - m["resolvable"]
    assert all(problem in {"no_candidate", "below_threshold", "ambiguous"} for problem, _, _ in rows)


def test_evaluate_counts_correct_wrong_and_unresolvable():
    truth = pd.DataFrame({
        "connector": "hrss", "table": "enrolments", "pk": [1, 2, 3, 4], "role": "id_number",
        "subject_type": "person", "true_code": ["A", "B", "C", "Z"], "deleted": False})
    resolved = pd.DataFrame({
        "source_table": "hrss__enrolments", "source_column": "id_number", "source_record_id": ["1", "2", "3", "4"],
        "resolved_person_id": ["A", "X", None, None],
        "match_method": ["probabilistic", "probabilistic", None, None],
        "resolution_status": ["matched", "matched", "below_threshold", "no_candidate"]})
    m = evaluate(resolved, truth, {"A", "B", "C", "X"})["without_valid_id"]
    assert (m["resolvable"], m["correct"], m["wrong"], m["unresolved"]) == (3, 1, 1, 2)
    assert (m["precision"], m["recall"]) == (0.5, round(1 / 3, 4))


def test_evaluate_entities_counts_fallback_matches():
    truth = pd.DataFrame({
        "connector": "tax", "table": "taxpayers", "pk": [1, 2, 3, 4], "role": "uscc",
        "subject_type": "entity", "true_code": ["E1", "E2", "E3", "E9"], "deleted": False})
    resolved = pd.DataFrame({
        "source_table": "tax__taxpayers", "source_column": "uscc", "source_record_id": ["1", "2", "3", "4"],
        "resolved_uscc": ["E1", "E1", "E3", None],
        "match_method": ["valid_uscc", "name_and_registration_no", "name_and_organisation_code", "unresolved"]})
    result = evaluate_entities(resolved, truth, {"E1", "E2", "E3"})
    m = result["without_valid_uscc"]
    assert (m["records"], m["resolvable"], m["correct"], m["wrong"], m["unresolved"]) == (3, 2, 1, 1, 1)
    assert result["overall"]["correct"] == 2
    assert result["fallback_by_method"] == {"name_and_organisation_code": 1, "name_and_registration_no": 1,
                                            "unresolved": 1}
