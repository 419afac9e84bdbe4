"""Other inputs: warehouse column types from DuckDB, gates on raw current views, compiled SQL traced
into column lineage. (The real dbt project: test_catalog_lineage_dbt.py and tests/e2e.)"""

from __future__ import annotations

import json
from pathlib import Path

import duckdb

from citydata.catalog import build_catalog, get_entity
from citydata.catalog.introspect import warehouse_columns


def test_warehouse_columns_type_undocumented_model_columns(connectors: list, manifest_path: Path) -> None:
    con = duckdb.connect()
    con.execute("create schema marts")
    con.execute("create table marts.population_persons (id_number varchar, name varchar, "
                "is_deceased boolean, died_on date, household_size integer)")
    columns = warehouse_columns(con, schemas=["marts"])
    assert columns["marts.population_persons"][0] == ("id_number", "VARCHAR")
    catalog = build_catalog(connectors, manifest_path, None, None, table_columns=columns)
    cols = {c["name"]: c for c in get_entity(catalog, "warehouse.citydata.marts.population_persons")["columns"]}
    assert cols["is_deceased"]["dataType"] == "BOOLEAN"
    assert cols["id_number"]["dataTypeDisplay"] == "varchar(18)"  # documented type kept
    assert cols["household_size"]["dataType"] == "INT" and cols["household_size"]["ordinalPosition"] == 5
    assert cols["died_on"]["dataType"] == "DATE"
    # propagation runs after the warehouse columns arrive
    assert cols["died_on"]["tags"] == []


def test_gate_on_raw_current_view_attaches_to_raw_table(connectors: list) -> None:
    gate = {"passed": True, "tables": {"raw.civil_affairs__deaths__current": {
        "passed": True, "rows": 60, "expectations": [
            {"expectation": "expect_column_values_to_be_unique", "column": "death_id", "success": True,
             "unexpected_count": 0, "severity": "block", "department": "civil_affairs", "detail": ""}]}}}
    catalog = build_catalog(connectors, None, gate, None)
    raw = get_entity(catalog, "warehouse.citydata.raw.civil_affairs__deaths")
    assert raw["extension"]["gate"]["passed"] is True
    assert raw["extension"]["currentRowCount"] == 60
    assert catalog["quality"]["unmatchedTables"] == []


def test_compiled_sql_traces_renames_else_same_names_are_matched(connectors: list, manifest_path: Path,
                                                                 tmp_path: Path) -> None:
    manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    nodes = manifest["nodes"]
    nodes["model.citydata.stg_civil_affairs__deaths"]["compiled_code"] = (
        'with source as (select * from "warehouse"."raw"."civil_affairs__deaths__current") '
        "select cast(death_id as bigint) as death_id, id_number, upper(trim(id_number)) as person_id, "
        "cast(died_on as date) as died_on, 'civil_affairs' as source from source")
    nodes["model.citydata.int_persons__matched"]["compiled_code"] = "select from where ("  # not SQL
    (tmp_path / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    columns = {"staging.stg_civil_affairs__deaths": [("death_id", "BIGINT"), ("id_number", "VARCHAR"),
                                                      ("person_id", "VARCHAR"),
                                                      ("died_on", "DATE"), ("source", "VARCHAR")]}
    catalog = build_catalog(connectors, tmp_path / "manifest.json", None, None, table_columns=columns)

    def column_edges(up: str, down: str) -> set[tuple[str, str]]:
        edge = next(e for e in catalog["lineage"]["edges"] if e["fromEntity"]["fullyQualifiedName"] == up
                    and e["toEntity"]["fullyQualifiedName"] == down)
        return {(f.rsplit(".", 1)[1], c["toColumn"].rsplit(".", 1)[1])
                for c in edge["lineageDetails"].get("columnsLineage", []) for f in c["fromColumns"]}

    stg = "warehouse.citydata.staging.stg_civil_affairs__deaths"
    assert column_edges("warehouse.citydata.raw.civil_affairs__deaths", stg) == {
        ("death_id", "death_id"), ("id_number", "id_number"), ("id_number", "person_id"),
        ("died_on", "died_on")}  # the constant `source` has none
    # unparseable SQL: same-named columns (the fixture's int model documents id_number, died_on)
    assert column_edges(stg, "warehouse.citydata.intermediate.int_persons__matched") == {
        ("id_number", "id_number"), ("died_on", "died_on")}
