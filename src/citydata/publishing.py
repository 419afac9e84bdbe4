"""The steps after landing, shared by ``citydata demo`` and the Airflow DAG: build the base
libraries with dbt, gate them with Great Expectations, publish what passed, snapshot the catalog."""

from __future__ import annotations

import json
from pathlib import Path

from citydata.catalog import build_catalog, write_catalog
from citydata.catalog.introspect import warehouse_columns
from citydata.ingest.config import ConnectorConfig
from citydata.quality.gate import GateResult, run_gate
from citydata.quality.publish import publish
from citydata.quality.quarantine import quarantine_gate
from citydata.quality.scorecards import compute_scorecards
from citydata.quality.suites import Suite
from citydata.settings import Settings
from citydata.warehouse import duck
from citydata.warehouse.dbt_build import DbtBuildResult
from citydata.warehouse.dbt_build import build as dbt_build

MART_SCHEMAS = ("population", "legal_entity", "credit", "governance", "history")


def mart_tables(con) -> list[str]:
    rows = con.execute(
        "select table_schema || '.' || table_name from information_schema.tables "
        f"where table_schema in {MART_SCHEMAS} order by 1").fetchall()
    return [r[0] for r in rows]


def build_libraries(settings: Settings, run_at: str | None = None) -> DbtBuildResult:
    """dbt build (seeds, snapshots, models, tests) on the warehouse; no DuckDB connection may be open.
    ``run_at`` (ISO timestamp: the run's logical time, never now()) stamps conflicts first/last seen."""
    return dbt_build(settings.dbt_project_dir, settings.warehouse_path, vars={"run_at": run_at} if run_at else None)


def gate_and_publish(settings: Settings, suites: list[Suite], run_at: str | None = None
                     ) -> tuple[GateResult, dict[str, int], dict[str, int]]:
    """Validate raw and marts (these decide publication) and the staging layer's per-department
    validity (reported and routed back to departments, not blocking yet); publish the marts only if
    nothing blocking failed. With ``run_at`` (the run's logical time, never now()), failed row-level
    checks are copied to ``quarantine.*`` and ``quality.scorecards`` gains this run.
    Returns (gate result incl. staging, published row counts, mart row counts)."""
    con = duck.connect(settings.warehouse_path)
    try:
        decisive = run_gate(con, suites)
        audit = run_gate(con, suites, layers=("staging",))
        published = publish(con, mart_tables(con)) if decisive.passed else {}
        for table in audit.tables:  # staging findings inform; only raw and marts block for now
            for e in table.expectations:
                e.severity = "warn" if not e.success else e.severity
        gate = GateResult(decisive.tables + audit.tables, decisive.seconds + audit.seconds)
        if run_at:
            quarantine_gate(con, suites, gate, run_at)
            compute_scorecards(con, gate, run_at)
        counts = {t: con.execute(f"select count(*) from {t}").fetchone()[0] for t in mart_tables(con)}
    finally:
        con.close()
    settings.gate_path.parent.mkdir(parents=True, exist_ok=True)
    settings.gate_path.write_text(json.dumps(gate.to_dict(), ensure_ascii=False, indent=2), encoding="utf-8")
    return gate, published, counts


def snapshot_catalog(settings: Settings, connectors: list[ConnectorConfig], manifest_path: Path | None,
                     gate: dict | None, counts: dict[str, int]) -> dict:
    con = duck.connect(settings.warehouse_path, read_only=True)
    try:
        columns = warehouse_columns(con)
    finally:
        con.close()
    catalog = build_catalog(connectors, manifest_path, gate, counts, table_columns=columns)
    write_catalog(catalog, settings.catalog_path)
    return catalog
