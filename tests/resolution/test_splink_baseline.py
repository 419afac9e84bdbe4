"""The Splink baseline on a 2,000-person synthetic city: scored like the project's matcher, next to it."""

from __future__ import annotations

import pandas as pd
import pytest

from citydata.resolution import evaluate, evaluate_splink, evaluate_synthetic, report, resolve_at
from citydata.resolution.splink_baseline import RESOLVED_COLUMNS

PERSONS, SEED = 2000, 20261122


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> tuple[dict, object]:
    from citydata.synth import generate

    work = tmp_path_factory.mktemp("splink")
    ours = evaluate_synthetic(PERSONS, SEED, work)
    return ours, (work / "warehouse.duckdb", generate(PERSONS, SEED).truth)


def test_splink_links_the_records_without_a_valid_id(built):
    ours, (warehouse, truth) = built
    theirs = evaluate_splink(warehouse, truth, seed=SEED)
    print("ours:", report(ours))
    print("splink:", report(theirs), f"({theirs['seconds']} s, EM on {theirs['em_blocking_rules']})")
    m, o = theirs["without_valid_id"], ours["without_valid_id"]
    assert theirs["records_without_truth"] == 0
    assert m["records"] == o["records"] > 50  # the same records, scored the same way
    assert m["f1"] > 0.5 and o["f1"] > 0.5
    assert theirs["overall"]["records"] == ours["overall"]["records"]
    assert theirs["unresolved_by_status"]["matched"] == m["resolved"]
    assert set(theirs["unresolved_by_status"]) <= {"matched", "below_threshold", "no_candidate"}
    assert theirs["em_blocking_rules"][0] == "birth_date"
    assert set(theirs["f1_by_threshold"]) == {"0.1", "0.2", "0.5", "0.8", "0.9", "0.99"}
    assert theirs["seconds"] > 0


def test_resolve_at_applies_the_threshold_and_keeps_valid_ids():
    candidates = pd.DataFrame({
        "source_table": "hrss__enrolments", "source_column": "id_number", "source_record_id": ["1", "2", "3", "4"],
        "has_valid_id_number": [True, False, False, False], "id_number": ["A", None, None, None],
        "best_person_id": [None, "B", "X", None], "best_match_probability": [None, 0.97, 0.3, None]})
    resolved = resolve_at(candidates, 0.5)
    assert list(resolved.columns) == RESOLVED_COLUMNS
    assert resolved["resolved_person_id"].fillna("-").tolist() == ["A", "B", "-", "-"]
    assert resolved["resolution_status"].tolist() == ["valid_id", "matched", "below_threshold", "no_candidate"]
    truth = pd.DataFrame({"connector": "hrss", "table": "enrolments", "pk": [1, 2, 3, 4], "role": "id_number",
                          "subject_type": "person", "true_code": ["A", "B", "C", "D"], "deleted": False})
    assert evaluate(resolve_at(candidates, 0.2), truth, {"A", "B", "C", "X"})["without_valid_id"]["wrong"] == 1
