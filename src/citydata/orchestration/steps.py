"""The work of each Airflow task, as plain functions of :class:`Settings` returning small, JSON-able
summaries (XCom). Every step is keyed on the run's logical time (``run_at``), never now(), and is safe
to retry: landing appends idempotently, dbt rebuilds the node, publishing swaps in one transaction."""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Iterator

from citydata.errors import CityDataError
from citydata.ingest.config import ConnectorConfig, load_connectors
from citydata.settings import Settings


def connector(settings: Settings, name: str) -> ConnectorConfig:
    for c in load_connectors(settings.connectors_dir):
        if c.name == name:
            return c
    raise CityDataError(f"no connector named {name!r} in {settings.connectors_dir}")


def land_source(settings: Settings, name: str, budget_s: float = 240.0) -> dict:
    """One landing micro-batch for one source: poll its topics into the raw tables until the
    consumer group has no lag or the time budget is spent (what is left lands next run)."""
    from citydata.ingest.sink import LandingSink
    from citydata.warehouse.engine import open_warehouse

    bootstrap = settings.kafka.bootstrap_servers
    if not bootstrap:
        raise CityDataError("no Kafka to land from: set CITYDATA_KAFKA__BOOTSTRAP_SERVERS (the embedded broker "
                            "lives only inside `citydata demo` / `citydata connect run`)")
    with open_warehouse(settings) as warehouse:
        sink = LandingSink(bootstrap, warehouse.con, [connector(settings, name)], group_id=f"citydata-landing-{name}",
                           max_records=settings.ingest.batch_max_records,
                           max_latency_ms=settings.ingest.batch_max_latency_ms)
        try:
            deadline = time.monotonic() + budget_s
            while time.monotonic() < deadline:
                if sink.poll_once() == 0 and sink.lag() == 0:
                    break
            lag = sink.lag()
        finally:
            sink.close()
    s = sink.stats
    return {"source": name, "polled": s.polled, "landed": s.landed, "duplicates": s.duplicates,
            "dead_letters": s.dead_letters, "lag": lag}


@contextlib.contextmanager
def _cautious_tests() -> Iterator[None]:
    """Select only the tests whose every parent is selected: a one-node build never runs a test
    that reads a node not built yet (those run in :func:`build_cross_tests`)."""
    saved = os.environ.get("DBT_INDIRECT_SELECTION")
    os.environ["DBT_INDIRECT_SELECTION"] = "cautious"
    try:
        yield
    finally:
        if saved is None:
            os.environ.pop("DBT_INDIRECT_SELECTION", None)
        else:
            os.environ["DBT_INDIRECT_SELECTION"] = saved


def _build(settings: Settings, select: str | None, run_at: str | None) -> dict:
    from citydata.warehouse.dbt_build import build

    with _cautious_tests():
        result = build(settings.dbt_project_dir, settings.warehouse_path, select=select,
                       vars={"run_at": run_at} if run_at else None, warehouse=settings.warehouse)
    return {"select": select, "seconds": result.seconds, "counts": result.counts,
            "rows": {n.name: n.rows for n in result.nodes if n.rows is not None}}


def build_node(settings: Settings, name: str, run_at: str | None) -> dict:
    """``dbt build --select <name>``: the node and the tests that read only it."""
    return _build(settings, name, run_at)


def build_cross_tests(settings: Settings, tests: list[str], run_at: str | None) -> dict:
    """The tests that read several nodes, once all of them are built."""
    return _build(settings, " ".join(tests), run_at) if tests else {"select": None, "counts": {}}


def build_all(settings: Settings, run_at: str | None) -> dict:
    """The whole project in one ``dbt build`` (no manifest yet to split it by)."""
    from citydata.publishing import build_libraries

    result = build_libraries(settings, run_at=run_at)
    return {"select": None, "seconds": result.seconds, "counts": result.counts}


def gate_and_publish(settings: Settings, run_at: str | None) -> dict:
    """Write–audit–publish (see :func:`citydata.publishing.gate_and_publish`). Returns whether the gate
    passed, its failures in one line each, the built and published row counts."""
    from citydata.publishing import gate_and_publish as gate
    from citydata.quality.suites import load_suites

    outcome = gate(settings, load_suites(settings.expectations_dir), run_at=run_at)
    failures = [f"{e.expectation} on {table}{f'.{e.column}' if e.column else ''}: {e.unexpected_count} rows"
                for table, e in outcome.gate.failures()]
    return {"passed": outcome.gate.passed, "failures": failures, "counts": outcome.counts,
            "published": outcome.published, "gate": outcome.gate.to_dict()}


def snapshot_catalog(settings: Settings, gated: dict) -> int:
    """The catalog the portal reads (``catalog.json``), from connectors, manifest, gate and counts."""
    from citydata.orchestration.dbt_graph import manifest_path
    from citydata.publishing import snapshot_catalog as snapshot

    catalog = snapshot(settings, load_connectors(settings.connectors_dir), manifest_path(settings.dbt_project_dir),
                       gated["gate"], gated["counts"])
    return len(catalog.get("tables", []))


def sync_catalog(settings: Settings) -> dict:
    """Publish ``catalog.json`` to OpenMetadata (a dry run writing request files when no server is set)."""
    import json

    from citydata.catalog import publish_catalog

    if not settings.catalog_path.is_file():
        raise CityDataError(f"no catalog at {settings.catalog_path}: the publish DAG writes it after a passed gate")
    catalog = json.loads(settings.catalog_path.read_text(encoding="utf-8"))
    return publish_catalog(settings, catalog)
