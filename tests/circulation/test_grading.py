"""Grades from the policy file, propagated along column lineage, with de-identifying models."""

from __future__ import annotations

from pathlib import Path

import pytest

from citydata.catalog import build_catalog
from citydata.circulation.grading import deidentified_columns, load_grading, propagate
from citydata.errors import CityDataError
from citydata.settings import PROJECT_ROOT

POLICY = load_grading(PROJECT_ROOT / "policies")
W = "warehouse.citydata"


def _edge(up: str, down: str, pairs: list[tuple[list[str], str]]) -> dict:
    return {"fromEntity": {"fullyQualifiedName": up}, "toEntity": {"fullyQualifiedName": down},
            "lineageDetails": {"columnsLineage": [{"fromColumns": [f"{up}.{c}" for c in froms],
                                                   "toColumn": f"{down}.{to}"} for froms, to in pairs]}}


def _catalog() -> dict:
    stg, mart = f"{W}.staging.stg_hrss__enrolments", f"{W}.marts.persons"
    raw = f"{W}.raw.hrss__enrolments"
    return {"lineage": {"edges": [
        _edge(raw, stg, [(["id_number"], "person_id"), (["mobile"], "mobile"), (["employer_uscc"], "uscc"),
                         (["status"], "status")]),
        _edge(stg, mart, [(["person_id"], "person_id"), (["person_id", "uscc"], "person_key"),
                          (["mobile"], "mobile_masked"), (["uscc"], "employer_uscc")]),
    ]}}


def test_derived_columns_inherit_the_strictest_input_grade() -> None:
    raw = f"{W}.raw.hrss__enrolments"
    seeds = {f"{raw}.id_number": "L4", f"{raw}.mobile": "L3", f"{raw}.employer_uscc": "L1"}
    grades = propagate(_catalog(), seeds, POLICY)
    mart = f"{W}.marts.persons"
    assert grades[f"{mart}.person_id"]["grade"] == "L4"
    assert grades[f"{mart}.person_key"]["grade"] == "L4"  # L4 and L1 in: L4 out
    assert grades[f"{mart}.mobile_masked"]["grade"] == "L3"
    assert grades[f"{mart}.employer_uscc"]["grade"] == "L1"
    assert grades[f"{W}.staging.stg_hrss__enrolments.status"]["grade"] == "L2"  # unclassified: default


def test_declared_deidentification_stops_inheritance() -> None:
    manifest = {"nodes": {"model.citydata.persons": {
        "resource_type": "model", "schema": "marts", "name": "persons",
        "config": {"meta": {"deidentified": ["mobile_masked"]}}}}}
    deid = deidentified_columns(manifest)
    assert deid == {"marts.persons": {"mobile_masked"}}
    grades = propagate(_catalog(), {f"{W}.raw.hrss__enrolments.mobile": "L3"}, POLICY, deid)
    assert grades[f"{W}.marts.persons.mobile_masked"] == {
        "grade": "L2", "from": [f"{W}.staging.stg_hrss__enrolments.mobile"], "deidentified": True}
    assert grades[f"{W}.staging.stg_hrss__enrolments.mobile"]["grade"] == "L3"


def test_source_grades_reach_the_raw_tables_of_the_real_catalog(connectors: list) -> None:
    catalog = build_catalog(connectors)
    source = "departments.hrss.social_insurance.enrolments"
    seeds = {f"{source}.{c}": POLICY.grade_of(spec.classification)
             for t in connectors if t.name == "hrss" for c, spec in t.tables[0].columns.items()}
    grades = propagate(catalog, seeds, POLICY)
    assert grades[f"{W}.raw.hrss__enrolments.id_number"]["grade"] == "L4"
    assert grades[f"{W}.raw.hrss__enrolments.mobile"]["grade"] == "L3"
    assert grades[f"{W}.raw.hrss__enrolments.insurance_type"]["grade"] == "L2"


def test_policy_errors_are_one_line(tmp_path: Path) -> None:
    (tmp_path / "grading.yaml").write_text("default_grade: L9\n", encoding="utf-8")
    with pytest.raises(CityDataError, match=r"grading.yaml: default_grade: Input should be"):
        load_grading(tmp_path)
    with pytest.raises(CityDataError, match="class 'iris' has no grade"):
        POLICY.grade_of("iris")


def test_catalog_tags_come_from_the_grading_policy(connectors: list) -> None:
    from citydata.catalog import entities as E

    assert E.DEFAULT_GRADE == POLICY.default_grade
    assert {g: zh for g, (zh, _) in E.GRADES.items()} == {g: t["zh"] for g, t in POLICY.grades.items()}
    for cls, spec in POLICY.classes.items():
        tags = {t["tagFQN"] for t in E.classification_tags(cls)}
        assert f"DataGrade.{spec.grade}" in tags and E.CLASSIFICATIONS[cls][2] == spec.grade
        assert ("PII.Sensitive" in tags) == (spec.personal != "none"), cls
        assert spec.zh and spec.en, f"{cls} needs zh/en labels for the catalog"
    declared = {c.classification for conn in connectors for t in conn.tables for c in t.columns.values()
                if c.classification}
    assert declared <= set(POLICY.classes), "every class a connector declares has a grade in the policy"
