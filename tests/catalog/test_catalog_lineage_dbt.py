"""Lineage over the real dbt project built on an empty warehouse: the real connectors' raw tables
(no rows), ``dbt build`` of dbt_project/ without its tests (compiled SQL in the manifest, every
column in the warehouse), then every mart traced back through intermediate, staging, raw and its
Kafka topic to the department table — by dataset and by column."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest
from om_server import FakeOpenMetadata

from citydata.catalog import build_catalog, lineage
from citydata.catalog.introspect import warehouse_columns
from citydata.catalog.om_requests import build_requests
from citydata.settings import PROJECT_ROOT
from citydata.warehouse.raw import ensure_table

BASE_LIBRARIES = {"population", "legal_entity", "credit"}
RANK = {"source": 0, "topic": 1, "raw": 2, "staging": 3, "intermediate": 4, "mart": 5}


@pytest.fixture(scope="module")
def real_catalog(connectors: list, tmp_path_factory: pytest.TempPathFactory) -> dict:
    work = tmp_path_factory.mktemp("dbt_build")
    warehouse = work / "warehouse.duckdb"
    with duckdb.connect(str(warehouse)) as con:
        for c in connectors:
            for t in c.tables:
                ensure_table(con, c.name, t.name, list(t.columns))
    project = PROJECT_ROOT / "dbt_project"
    done = subprocess.run(
        [str(Path(sys.executable).parent / "dbt"), "build", "--project-dir", str(project),
         "--profiles-dir", str(project), "--target-path", str(work / "target"), "--log-path", str(work / "logs"),
         "--exclude", "resource_type:test", "resource_type:unit_test"],
        env={**os.environ, "CITYDATA_WAREHOUSE_PATH": str(warehouse)},
        capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stdout[-3000:]
    with duckdb.connect(str(warehouse), read_only=True) as con:
        columns = warehouse_columns(con)
    return build_catalog(connectors, work / "target" / "manifest.json", None, None, table_columns=columns)


def _marts(catalog: dict) -> list[dict]:
    return [t for t in catalog["tables"] if t["extension"]["layer"] == "mart"]


def test_every_base_library_table_is_traced_from_topic_to_mart(real_catalog: dict) -> None:
    marts = _marts(real_catalog)
    assert BASE_LIBRARIES <= {t["extension"]["baseLibrary"] for t in marts}
    for mart in marts:
        up = lineage(real_catalog, mart["fullyQualifiedName"], "upstream")
        layers = {n["layer"] for n in up["nodes"]}
        assert {"source", "topic", "raw", "staging", "intermediate"} <= layers, (mart["name"], layers)
        # no dead ends: everything upstream is itself fed, down to the department tables and seeds
        fed = {e["toEntity"]["fullyQualifiedName"] for e in up["edges"]}
        for node in up["nodes"]:
            if node["layer"] not in ("source", "seed"):
                assert node["fullyQualifiedName"] in fed, (mart["name"], node["fullyQualifiedName"])


def test_edges_only_flow_down_the_layers(real_catalog: dict) -> None:
    layer = {e["fullyQualifiedName"]: e["extension"]["layer"]
             for e in real_catalog["tables"] + real_catalog["topics"]}
    for edge in real_catalog["lineage"]["edges"]:
        a = layer[edge["fromEntity"]["fullyQualifiedName"]]
        b = layer[edge["toEntity"]["fullyQualifiedName"]]
        if a == "seed":
            continue
        assert RANK[a] < RANK[b] or a == b in ("intermediate", "mart"), (edge["fromEntity"], edge["toEntity"])
    for raw in (t for t in real_catalog["tables"] if t["extension"]["layer"] == "raw"):
        up = {n["layer"] for n in lineage(real_catalog, raw["fullyQualifiedName"], "upstream", depth=2)["nodes"]}
        assert up == {"topic", "source"}, raw["name"]


def test_marts_carry_bilingual_descriptions_from_dbt_meta(real_catalog: dict) -> None:
    persons = next(t for t in _marts(real_catalog) if t["name"] == "persons")
    assert persons["displayName"] == "人口综合库"
    zh, en = persons["description"].split("\n\n")
    assert zh.startswith("人口综合库。") and en.startswith("The population library")
    person_id = next(c for c in persons["columns"] if c["name"] == "person_id")
    assert person_id["description"].startswith("公民身份号码") and "\n\nThe person's" in person_id["description"]


def test_real_catalog_requests_validate(real_catalog: dict) -> None:
    requests = build_requests(real_catalog)
    assert len([r for r in requests if r.key.startswith("lineage:")]) == len(real_catalog["lineage"]["edges"])
    for r in requests:
        type(r.model).model_validate(r.body())


def _sources(catalog: dict, column_fqn: str) -> set[str]:
    return {n["fullyQualifiedName"] for n in lineage(catalog, column_fqn, "upstream")["nodes"]
            if n["entity"]["layer"] == "source"}


def test_column_lineage_follows_renames_back_to_department_columns(real_catalog: dict) -> None:
    # legal_entities.name <- int_legal_entities_survived.name <- stg_*.enterprise_name / taxpayer_name <- raw name
    assert _sources(real_catalog, "warehouse.citydata.legal_entity.legal_entities.name") == {
        "departments.market_regulation.registry.enterprises.name", "departments.tax.taxpayers.taxpayers.name"}
    person_id = _sources(real_catalog, "warehouse.citydata.population.persons.person_id")
    assert {"departments.public_security.hukou.persons.id_number",
            "departments.civil_affairs.civil.deaths.id_number"} <= person_id
    assert all(c.rsplit(".", 1)[1].endswith("id_number") for c in person_id)
    field = lineage(real_catalog, "warehouse.citydata.population.persons.person_id", "upstream")["nodes"]
    assert 'kafka."public_security.hukou.persons".after.id_number' in {n["fullyQualifiedName"] for n in field}


def test_every_base_library_key_is_traced_to_a_department_column(real_catalog: dict) -> None:
    for mart in _marts(real_catalog):
        if mart["extension"]["baseLibrary"] in BASE_LIBRARIES:
            key = mart["columns"][0]["name"]
            assert _sources(real_catalog, f"{mart['fullyQualifiedName']}.{key}"), (mart["name"], key)


def test_real_catalog_publishes_completely(real_catalog: dict, om_server: FakeOpenMetadata, tmp_path: Path) -> None:
    from citydata.catalog.om_publish import publish_catalog
    from citydata.settings import Settings

    settings = Settings(var_dir=tmp_path, openmetadata={"url": om_server.url, "token": "test-token"})
    summary = publish_catalog(settings, real_catalog)
    assert summary["sent"] == summary["requests"]
    assert len(om_server.lineage) == len(real_catalog["lineage"]["edges"])
    held = sum(len(d.get("columnsLineage") or []) for d in om_server.lineage.values())
    assert held == sum(len(e["lineageDetails"].get("columnsLineage") or []) for e in real_catalog["lineage"]["edges"])
    assert set(om_server.entities["table"]) == {t["fullyQualifiedName"] for t in real_catalog["tables"]}
