"""Other inputs: warehouse column types from DuckDB, gates on raw current views.
(The real dbt manifest is exercised by tests/e2e/test_demo.py.)"""

from __future__ import annotations

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
