"""The steps after landing, shared by ``citydata demo`` and the Airflow DAG: build the base
libraries with dbt, gate them with Great Expectations, publish what passed, snapshot the catalog —
on the warehouse Settings choose (DuckDB file or PostgreSQL, ``warehouse/engine.py``)."""

from __future__ import annotations

import datetime as dt
import json
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from citydata.catalog import build_catalog, write_catalog
from citydata.catalog.build import attach_kanon, attach_scorecards
from citydata.catalog.introspect import warehouse_columns
from citydata.circulation.context import open_audit_log
from citydata.circulation.open_data import (
    deidentify_published,
    latest_checks,
    log_policy_changes,
    log_publication,
)
from citydata.circulation.usage import load_usage
from citydata.ingest.config import ConnectorConfig
from citydata.portal.serving import export_serving
from citydata.quality.data_docs import build_data_docs
from citydata.quality.gate import GateResult, run_gate
from citydata.quality.publish import MART_SCHEMAS, publish
from citydata.quality.quarantine import QuarantineAlongside
from citydata.quality.runs import previous_results, record_run, save_watermarks, watermarks
from citydata.quality.scorecards import compute_scorecards, department_scorecards, scorecard_trends
from citydata.quality.suites import Suite
from citydata.quality.warehouses import as_warehouse
from citydata.settings import Settings
from citydata.warehouse.dbt_build import DbtBuildResult
from citydata.warehouse.dbt_build import build as dbt_build
from citydata.warehouse.engine import open_warehouse


def mart_tables(target) -> list[str]:
    """``<schema>.<table>`` of every table and view in the mart schemas (``target``: a DuckDB connection
    or a warehouse)."""
    schemas = ", ".join(f"'{s}'" for s in MART_SCHEMAS)
    rows = as_warehouse(target).rows(
        "select table_schema || '.' || table_name from information_schema.tables "
        f"where table_schema in ({schemas}) and table_catalog = current_database() order by 1")
    return [r[0] for r in rows]


def build_libraries(settings: Settings, run_at: str | None = None) -> DbtBuildResult:
    """dbt build (seeds, snapshots, models, tests) on the warehouse; no DuckDB connection may be open.
    ``run_at`` (ISO timestamp: the run's logical time, never now()) stamps conflicts first/last seen."""
    return dbt_build(settings.dbt_project_dir, settings.warehouse_path, vars={"run_at": run_at} if run_at else None,
                     warehouse=settings.warehouse)


@dataclass
class GateOutcome:
    """What one gate-and-publish step did."""

    gate: GateResult
    published: dict[str, int]  # published table → rows; empty when the gate blocked
    counts: dict[str, int]  # built mart table → rows
    quarantined: dict[str, int] = field(default_factory=dict)  # "<table>:<expectation>:<column>" → rows
    scorecards: list[dict] = field(default_factory=list)  # per department, this run
    data_docs: Path | None = None
    seconds: dict[str, float] = field(default_factory=dict)  # per phase: validate, publish, quarantine, …


def gate_and_publish(settings: Settings, suites: list[Suite], run_at: str | None = None,
                     incremental: bool = False) -> GateOutcome:
    """Write–audit–publish. The marts dbt built are audited together with what they were built from:
    raw topics (formats, code lists), staging (each department's validity rates) and the marts (keys,
    references, row-count change and drift against the published version). Only if no blocking
    expectation failed are the marts swapped into ``published``; otherwise the last good version stays.

    ``run_at`` is the run's logical time (never now()); it stamps the run's record (``quality.gate_runs``,
    ``quality.gate_failures``), the quarantined rows, the scorecards and the Data Docs. ``incremental``
    validates row by row only what landed after the last passed run (``quality.gate_watermarks``)."""
    run_at = run_at or dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    timer = _Timer()
    with open_warehouse(settings) as warehouse:
        since = watermarks(warehouse) if incremental else None
        with QuarantineAlongside(warehouse, suites, run_at, since) as quarantine:
            with timer("validate"):  # each judged table's rejected rows are quarantined meanwhile
                gate = run_gate(warehouse, suites, layers=("raw", "staging", "marts"), run_at=run_at, since=since,
                                previous=previous_results(warehouse) if incremental else None, judged=quarantine)
            with timer("quarantine"):  # what is left of it
                quarantined = quarantine.finish()
        kanon: dict = {}
        with timer("publish"):
            if gate.passed:
                usage = load_usage(settings.circulation.policies_dir)
                marts = mart_tables(warehouse)
                published = publish(warehouse, marts, before_commit=lambda: kanon.update(
                    deidentify_published(warehouse, usage, run_at)))
            else:
                published = {}
        with timer("record"):
            record_run(warehouse, gate, run_at, mode="incremental" if incremental else "full",
                       published=bool(published))
            if gate.passed:
                save_watermarks(warehouse, gate, run_at)
        with timer("scorecards"):
            scorecards = department_scorecards(compute_scorecards(warehouse, gate, run_at))
        counts = {t: warehouse.rows(f"select count(*) from {t}")[0][0] for t in mart_tables(warehouse)}
        if published or not settings.serving_path.exists():
            with timer("serving"):  # the portal's copy, swapped in by rename (portal/serving.py)
                export_serving(warehouse, settings.serving_path)
    if published:
        with timer("audit"):
            with open_audit_log(settings) as log:
                log_policy_changes(log, settings.circulation.policies_dir, dt.datetime.fromisoformat(run_at))
                log_publication(log, {m: published[f"published.{m.partition('.')[2]}"] for m in marts}, kanon,
                                dt.datetime.fromisoformat(run_at))
    settings.gate_path.parent.mkdir(parents=True, exist_ok=True)
    settings.gate_path.write_text(json.dumps(gate.to_dict(), ensure_ascii=False, indent=2), encoding="utf-8")
    with timer("data_docs"):
        docs = build_data_docs(gate, settings.data_docs_dir, run_at)
    return GateOutcome(gate, published, counts, quarantined,
                       json.loads(scorecards.to_json(orient="records", date_format="iso")), docs, timer.seconds)


class _Timer:
    """Seconds per named phase."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}

    @contextmanager
    def __call__(self, phase: str) -> Iterator[None]:
        started = time.perf_counter()
        try:
            yield
        finally:
            self.seconds[phase] = round(time.perf_counter() - started, 3)


def snapshot_catalog(settings: Settings, connectors: list[ConnectorConfig], manifest_path: Path | None,
                     gate: dict | None, counts: dict[str, int]) -> dict:
    with open_warehouse(settings, read_only=True) as warehouse:
        columns = warehouse_columns(warehouse)
        trends = scorecard_trends(warehouse)
        kanon = latest_checks(warehouse)
    catalog = build_catalog(connectors, manifest_path, gate, counts, table_columns=columns)
    attach_scorecards(catalog.get("tables") or [], trends)
    attach_kanon(catalog.get("tables") or [], kanon)
    write_catalog(catalog, settings.catalog_path)
    return catalog
