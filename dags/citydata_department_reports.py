"""
### citydata — daily reports to each department

Every morning, one DAG per department writes to `<var>/reports/<department>/<day>/`:

- `scorecard.json` — the department's quality scorecard from the newest gate run that day or before
  (completeness, validity, uniqueness, consistency, timeliness; per dataset and rolled up);
- `conflicts.csv` — the open conflicts (问题回流) the department must fix at the source, from
  `governance.conflicts`.

Read-only on the warehouse; a re-run rewrites that day's files. Declarations only: the logic is
`citydata.orchestration.reports`.
"""

from __future__ import annotations

from airflow.sdk import dag, get_current_context, task

from citydata.orchestration.dag_support import START, default_args, departments


def department_dag(department: str, name_en: str):
    @dag(
        dag_id=f"citydata_report_{department}",
        schedule="0 6 * * *",
        start_date=START,
        catchup=False,
        max_active_runs=1,
        doc_md=__doc__,
        description=f"Daily scorecard and open conflicts for {name_en}",
        tags=["citydata", "reports", department],
        default_args=default_args(department),
    )
    def report():
        @task
        def scorecard() -> dict:
            from citydata.orchestration.dag_support import day
            from citydata.orchestration.reports import scorecard_report
            from citydata.settings import Settings

            return scorecard_report(Settings(), department, day(get_current_context()))

        @task
        def conflicts() -> dict:
            from citydata.orchestration.dag_support import day
            from citydata.orchestration.reports import conflict_report
            from citydata.settings import Settings

            return conflict_report(Settings(), department, day(get_current_context()))

        scorecard()
        conflicts()

    return report()


for _department, _name in departments():
    globals()[f"citydata_report_{_department}"] = department_dag(_department, _name)
