"""Building the catalog from the real connectors, a fake dbt manifest and fake gate results."""

from __future__ import annotations

import copy
import itertools
import json
from pathlib import Path

import pytest

from citydata.catalog import build_catalog, get_entity, read_catalog, write_catalog
from citydata.catalog.entities import split_fqn, topic_fqn
from citydata.errors import CityDataError

STG = "warehouse.citydata.staging.stg_civil_affairs__deaths"
RAW = "warehouse.citydata.raw.civil_affairs__deaths"
TOPIC = 'kafka."civil_affairs.civil.deaths"'
SOURCE = "departments.civil_affairs.civil.deaths"
MART = "warehouse.citydata.marts.population_persons"


def _edges(catalog: dict) -> set[tuple[str, str]]:
    return {(e["fromEntity"]["fullyQualifiedName"], e["toEntity"]["fullyQualifiedName"])
            for e in catalog["lineage"]["edges"]}


def test_top_level_shape(catalog: dict) -> None:
    assert {"catalogVersion", "generatedAt", "services", "teams", "tables", "topics", "lineage",
            "quality"} <= set(catalog)
    assert {s["name"] for s in catalog["services"]} == {"kafka", "departments", "warehouse"}
    json.dumps(catalog)  # plain JSON


def test_one_topic_source_and_raw_table_per_connector_table(catalog: dict, connectors: list) -> None:
    fqns = {t["fullyQualifiedName"] for t in catalog["tables"]}
    topics = {t["name"] for t in catalog["topics"]}
    for c in connectors:
        for t in c.tables:
            assert c.topic(t) in topics
            assert f"departments.{c.name}.{t.schema_}.{t.name}" in fqns
            raw = get_entity(catalog, f"warehouse.citydata.raw.{c.name}__{t.name}")
            assert raw["owners"] == [{"id": raw["owners"][0]["id"], "type": "team",
                                      "name": c.department.code,
                                      "displayName": c.department.name_zh}]
            assert raw["extension"]["layer"] == "raw"
    assert len(catalog["topics"]) == sum(len(c.tables) for c in connectors)


def test_topic_fqn_is_quoted_like_openmetadata() -> None:
    assert topic_fqn("civil_affairs.civil.deaths") == TOPIC
    assert split_fqn(TOPIC) == ["kafka", "civil_affairs.civil.deaths"]


def test_source_columns_carry_types_and_classification(catalog: dict) -> None:
    src = get_entity(catalog, SOURCE)
    cols = {c["name"]: c for c in src["columns"]}
    assert cols["id_number"]["dataType"] == "VARCHAR" and cols["id_number"]["dataLength"] == 18
    assert {t["tagFQN"] for t in cols["id_number"]["tags"]} == {"DataClassification.resident_id",
                                                                  "DataGrade.L4", "PII.Sensitive"}
    assert cols["id_number"]["description"] == "公民身份号码\n\nResident ID number"
    assert {"tagFQN": "DataGrade.L4", "labelType": "Derived"}.items() <= src["tags"][-1].items()
    assert cols["death_id"]["constraint"] == "PRIMARY_KEY"
    assert cols["updated_at"]["dataType"] == "TIMESTAMPZ"
    assert src["displayName"] == "死亡登记信息"


def test_models_layers_owners_and_libraries(catalog: dict) -> None:
    stg = get_entity(catalog, STG)
    assert stg["extension"]["layer"] == "staging"
    assert stg["owners"][0]["name"] == "civil_affairs"
    assert stg["tableType"] == "View"
    assert stg["displayName"] == "死亡登记信息（标准化）"
    assert get_entity(catalog, "warehouse.citydata.intermediate.int_persons__matched")[
        "extension"]["layer"] == "intermediate"
    libs = {t["name"]: t["extension"].get("baseLibrary") for t in catalog["tables"]
            if t["extension"]["layer"] == "mart"}
    assert libs == {"population_persons": "population", "legal_entities": "legal_entity",
                    "credit_profiles": "credit", "governance_conflicts": "governance"}
    mart = get_entity(catalog, MART)
    assert mart["owners"][0]["name"] == "data_bureau"
    assert {"tagFQN": "BaseLibrary.population"} .items() <= mart["tags"][1].items()
    assert get_entity(catalog, "warehouse.citydata.seeds.division_codes")["extension"]["layer"] == "seed"


def test_lineage_edges_source_topic_raw_staging_mart(catalog: dict) -> None:
    edges = _edges(catalog)
    chain = [SOURCE, TOPIC, RAW, STG, "warehouse.citydata.intermediate.int_persons__matched", MART]
    for a, b in itertools.pairwise(chain):
        assert (a, b) in edges, (a, b)
    assert ("warehouse.citydata.seeds.division_codes", "warehouse.citydata.marts.legal_entities") in edges
    kinds = {e["lineageDetails"]["source"] for e in catalog["lineage"]["edges"]}
    assert kinds == {"PipelineLineage", "DbtLineage"}
    # dbt sources map onto the raw tables (their __current views are not separate entities)
    assert not any("__current" in t["fullyQualifiedName"] for t in catalog["tables"])


def test_classification_propagates_conservatively(catalog: dict) -> None:
    persons = {c["name"]: c for c in get_entity(catalog, MART)["columns"]}
    assert persons["name"]["tags"][0]["tagFQN"] == "DataClassification.person_name"
    assert persons["name"]["tags"][0]["labelType"] == "Propagated"
    assert persons["id_number"]["tags"][0]["labelType"] == "Manual"  # declared in the manifest
    entities = {c["name"]: c for c in get_entity(catalog, "warehouse.citydata.marts.legal_entities")["columns"]}
    # enterprise name: one upstream untagged, so no class is guessed — but its grade is the strictest
    # of its inputs along the column lineage (here a person's name among them): L3, marked Propagated
    assert not [t for t in entities["name"]["tags"] if t["tagFQN"].startswith("DataClassification.")]
    assert [(t["tagFQN"], t["labelType"]) for t in entities["name"]["tags"]] == [("DataGrade.L3", "Propagated")]


def test_gate_results_and_row_counts_attached(catalog: dict) -> None:
    credit = get_entity(catalog, "warehouse.citydata.marts.credit_profiles")
    gate = credit["extension"]["gate"]
    assert gate["passed"] is False and gate["unexpectedTotal"] == 7
    assert gate["expectations"][0]["column"] == "subject_code"
    assert credit["profile"]["rowCount"] == 95
    assert get_entity(catalog, MART)["extension"]["gate"]["passed"] is True
    raw = get_entity(catalog, RAW)
    assert raw["profile"]["rowCount"] == 61 and raw["extension"]["currentRowCount"] == 60
    assert catalog["quality"] == {"passed": False, "checkedTables": 3,
                                  "failedTables": ["marts.credit_profiles"], "unmatchedTables": []}


def test_without_manifest_or_gates(connectors: list) -> None:
    catalog = build_catalog(connectors, None, None, None)
    assert {t["extension"]["layer"] for t in catalog["tables"]} == {"source", "raw"}
    assert catalog["quality"]["passed"] is None


def test_missing_manifest_is_one_actionable_error(connectors: list, tmp_path: Path) -> None:
    with pytest.raises(CityDataError, match="dbt parse"):
        build_catalog(connectors, tmp_path / "nope.json", None, None)


def test_write_read_roundtrip(catalog: dict, tmp_path: Path) -> None:
    path = write_catalog(catalog, tmp_path / "sub" / "catalog.json")
    assert read_catalog(path) == catalog
    assert "死亡登记信息" in path.read_text(encoding="utf-8")
    assert not [p for p in path.parent.iterdir() if p.name.endswith(".tmp")]


def test_read_missing_catalog_says_run_demo(tmp_path: Path) -> None:
    with pytest.raises(CityDataError, match="make demo"):
        read_catalog(tmp_path / "catalog.json")


def test_grades_propagate_along_column_lineage_unless_the_model_declares_them(catalog: dict) -> None:
    from citydata.catalog.build import propagate_grades

    tables = copy.deepcopy(catalog["tables"])
    entities = next(t for t in tables if t["fullyQualifiedName"] == "warehouse.citydata.marts.legal_entities")
    name = next(c for c in entities["columns"] if c["name"] == "name")
    name["tags"] = [{"tagFQN": "DataGrade.L1", "source": "Classification", "labelType": "Manual", "state": "Confirmed"}]
    propagate_grades(tables, catalog["lineage"]["edges"], {})
    assert [t["tagFQN"] for t in name["tags"]] == ["DataGrade.L1"]  # meta.grade: the owner opened it
    persons = next(t for t in tables if t["fullyQualifiedName"] == MART)
    assert {t["tagFQN"] for c in persons["columns"] if c["name"] == "name" for t in c["tags"]} >= {"DataGrade.L3"}


def test_model_column_meta_grade_tags_an_unclassified_column_and_rejects_unknown_grades() -> None:
    from citydata.catalog.dbt import _model_columns

    node = {"name": "legal_entities", "original_file_path": "models/marts/x.yml", "columns": {
        "name": {"name": "name", "meta": {"grade": "L1"}},
        "address": {"name": "address", "meta": {"grade": "L1", "classification": "address"}},
        "status": {"name": "status"}}}
    tags = {c["name"]: [t["tagFQN"] for t in c["tags"]] for c in _model_columns(node)}
    assert tags["name"] == ["DataGrade.L1"]
    assert "DataGrade.L3" in tags["address"] and "DataGrade.L1" not in tags["address"]  # a class outranks meta
    assert tags["status"] == []
    node["columns"]["status"]["meta"] = {"grade": "L9"}
    with pytest.raises(CityDataError, match="models/marts/x.yml: column status has meta.grade 'L9'"):
        _model_columns(node)
