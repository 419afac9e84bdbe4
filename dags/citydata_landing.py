"""
### citydata — landing micro-batches, one DAG per source

Every few minutes, each department source's Kafka topics (`<source>.<schema>.<table>`, written by the
connectors of `citydata connect run` or a Debezium in their place) are polled into the warehouse's raw
change-log tables by the project's landing sink: one warehouse transaction per poll, offsets committed
after it, invalid messages to `<topic>.dlq`. A batch that landed new changes updates the source's
asset `citydata://raw/<source>`, which schedules the build (`citydata_publish`); a batch with nothing
new is skipped and triggers nothing.

Declarations only: the logic is `citydata.orchestration.steps.land_source`. Kafka comes from
`CITYDATA_KAFKA__BOOTSTRAP_SERVERS`.
"""

from __future__ import annotations

import datetime as dt

from airflow.sdk import Asset, dag, task

from citydata.orchestration.dag_support import START, default_args, raw_asset_uri, sources


def landing_dag(source: str, department: str):
    @dag(
        dag_id=f"citydata_land_{source}",
        schedule=dt.timedelta(minutes=5),
        start_date=START,
        catchup=False,
        max_active_runs=1,
        dagrun_timeout=dt.timedelta(minutes=10),
        doc_md=__doc__,
        tags=["citydata", "landing", department],
        default_args=default_args(department, retries=3, minutes=1),
    )
    def land():
        @task(outlets=[Asset(raw_asset_uri(source))], execution_timeout=dt.timedelta(minutes=5))
        def land_batch() -> dict:
            from airflow.exceptions import AirflowSkipException

            from citydata.orchestration.steps import land_source
            from citydata.settings import Settings

            summary = land_source(Settings(), source)
            if summary["landed"] == 0:
                raise AirflowSkipException(f"nothing new on {source}'s topics ({summary['polled']} polled)")
            return summary

        land_batch()

    return land()


for _source, _department in sources():
    globals()[f"citydata_land_{_source}"] = landing_dag(_source, _department)
