"""
### citydata — build, gate, publish, catalog

Builds the population, legal-entity and credit base libraries with dbt from the landed raw tables,
validates raw and mart tables with the Great Expectations suites in `expectations/`, publishes
the marts only when no blocking expectation failed (the last good version keeps serving
otherwise), and refreshes the catalog the portal reads.

Declarations only: the logic lives in `citydata.publishing`. Configuration comes from
`citydata.settings.Settings` (`CITYDATA_*`).
"""

from __future__ import annotations

import pendulum
from airflow.sdk import dag, task


@dag(
    dag_id="citydata_publish",
    schedule="@daily",
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    doc_md=__doc__,
    tags=["citydata", "base-libraries", "quality"],
    default_args={"owner": "data_bureau", "retries": 2, "retry_delay": pendulum.duration(minutes=5)},
)
def citydata_publish():
    @task
    def build_libraries(data_interval_end=None) -> dict:
        from citydata.publishing import build_libraries
        from citydata.settings import Settings

        result = build_libraries(Settings(), run_at=data_interval_end.isoformat() if data_interval_end else None)
        return {"nodes": len(result.nodes), "manifest": str(result.manifest_path)}

    @task
    def gate_and_publish(built: dict, data_interval_end=None) -> dict:
        from airflow.exceptions import AirflowFailException

        from citydata.publishing import gate_and_publish
        from citydata.quality.suites import load_suites
        from citydata.settings import Settings

        settings = Settings()
        outcome = gate_and_publish(settings, load_suites(settings.expectations_dir),
                                   run_at=data_interval_end.isoformat() if data_interval_end else None)
        gate, counts = outcome.gate, outcome.counts
        if not gate.passed:
            failed = "; ".join(f"{e.expectation} on {t}: {e.unexpected_count} rows" for t, e in gate.failures())
            raise AirflowFailException(f"gate blocked publication: {failed}")
        return {"manifest": built["manifest"], "gate": gate.to_dict(), "counts": counts}

    @task
    def refresh_catalog(gated: dict) -> int:
        from pathlib import Path

        from citydata.ingest.config import load_connectors
        from citydata.publishing import snapshot_catalog
        from citydata.settings import Settings

        settings = Settings()
        catalog = snapshot_catalog(settings, load_connectors(settings.connectors_dir), Path(gated["manifest"]),
                                   gated["gate"], gated["counts"])
        return len(catalog.get("tables", []))

    refresh_catalog(gate_and_publish(build_libraries()))


citydata_publish()
