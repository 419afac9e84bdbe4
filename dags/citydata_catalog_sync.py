"""
### citydata — catalog sync to OpenMetadata

Runs after every publication (asset `citydata://published/base_libraries`): sends `catalog.json` —
department teams, data-grade tags, tables, topics, lineage, gate results and scorecards — to the
OpenMetadata server as create-or-update requests, soft-deleting what is gone, resuming where a failed
run stopped. Without `CITYDATA_OPENMETADATA__URL` it is a dry run that writes the requests as JSON files
under `<var>/openmetadata/requests/`.

Declarations only: the logic is `citydata.catalog.publish_catalog`.
"""

from __future__ import annotations

import datetime as dt

from airflow.sdk import Asset, dag, task

from citydata.orchestration.dag_support import BUREAU, PUBLISHED_URI, START, default_args


@dag(
    dag_id="citydata_catalog_sync",
    schedule=[Asset(PUBLISHED_URI)],
    start_date=START,
    catchup=False,
    max_active_runs=1,
    doc_md=__doc__,
    tags=["citydata", "catalog", "openmetadata"],
    default_args=default_args(BUREAU, retries=3, minutes=10),
)
def citydata_catalog_sync():
    @task(execution_timeout=dt.timedelta(minutes=30))
    def sync_catalog() -> dict:
        from citydata.orchestration.steps import sync_catalog as sync
        from citydata.settings import Settings

        return sync(Settings())

    sync_catalog()


citydata_catalog_sync()
