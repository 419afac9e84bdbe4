"""What Airflow runs, as plain functions the DAGs in ``dags/`` call: landing micro-batches, the dbt
graph as per-node tasks, gate + publish, catalog sync, department reports; and the Airflow and dbt
configuration rendered from :class:`citydata.settings.Settings`."""
