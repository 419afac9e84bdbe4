"""Airflow's and dbt's configuration, rendered from the one :class:`Settings`: the Airflow connections
(``AIRFLOW_CONN_*`` as JSON), Airflow's own settings (metadata database: SQLite under the var
directory by default, PostgreSQL in docker-compose) and a dbt ``profiles.yml``. Nothing here reads the
environment; ``python -m citydata.orchestration env`` prints the values as shell exports."""

from __future__ import annotations

import json
import shlex

import yaml

from citydata.settings import PROJECT_ROOT, Settings

PROFILE = "citydata"  # dbt_project.yml's profile


def airflow_connections(settings: Settings) -> dict[str, str]:
    """``AIRFLOW_CONN_<ID>`` → the connection as Airflow's JSON form, for each service Settings points
    at (an embedded service has no connection: it lives only inside the process that starts it)."""
    wh = settings.warehouse
    conns: dict[str, dict] = {"citydata_warehouse": (
        {"conn_type": "duckdb", "host": str(settings.warehouse_path), "extra": {"path": str(settings.warehouse_path)}}
        if wh.engine == "duckdb" else
        {"conn_type": "postgres", "host": wh.host, "port": wh.port, "login": wh.user, "schema": wh.database,
         "password": wh.password.get_secret_value() if wh.password else None})}
    if settings.kafka.bootstrap_servers:
        conns["citydata_kafka"] = {"conn_type": "kafka",
                                   "extra": {"bootstrap.servers": settings.kafka.bootstrap_servers,
                                             "group.id": "citydata-landing"}}
    pg = settings.postgres
    if pg.host:
        conns["citydata_departments"] = {"conn_type": "postgres", "host": pg.host, "port": pg.port, "login": pg.user,
                                         "password": pg.password.get_secret_value() if pg.password else None}
    om = settings.openmetadata
    if om.url:
        conns["citydata_openmetadata"] = {"conn_type": "http", "host": om.url,
                                          "password": om.token.get_secret_value() if om.token else None}
    return {f"AIRFLOW_CONN_{cid.upper()}": json.dumps({k: v for k, v in c.items() if v is not None})
            for cid, c in conns.items()}


def metadata_url(settings: Settings, url: str | None = None) -> str:
    """Airflow's metadata database: ``url`` when given (PostgreSQL in docker-compose), else SQLite in the var
    dir (whose folder is created: SQLite makes the file, not the folder)."""
    if url:
        return url
    folder = settings.var_dir / "airflow"
    folder.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{(folder / 'airflow.db').resolve()}"


def airflow_environment(settings: Settings, metadata: str | None = None) -> dict[str, str]:
    """Everything Airflow needs to run citydata's DAGs on this Settings."""
    return {
        "AIRFLOW__CORE__DAGS_FOLDER": str(PROJECT_ROOT / "dags"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": metadata_url(settings, metadata),
        **airflow_connections(settings),
    }


def shell_exports(values: dict[str, str]) -> str:
    return "".join(f"export {k}={shlex.quote(v)}\n" for k, v in values.items())


def dbt_profiles(settings: Settings) -> str:
    """A ``profiles.yml`` for this Settings, its target the warehouse's engine: DuckDB at the warehouse
    path, PostgreSQL at the warehouse's host, port, user and database, its password read by dbt from
    ``CITYDATA_WAREHOUSE__PASSWORD`` (never written to a file)."""
    wh = settings.warehouse
    profile = {PROFILE: {"target": wh.engine, "outputs": {
        "duckdb": {"type": "duckdb", "path": str(settings.warehouse_path.resolve()), "threads": 1,
                   "settings": {"checkpoint_threshold": "2GB"}},
        "postgres": {"type": "postgres", "host": wh.host, "port": wh.port, "user": wh.user,
                     "password": "{{ env_var('CITYDATA_WAREHOUSE__PASSWORD', '') }}",
                     "dbname": wh.database, "schema": "public", "threads": 4},
    }}}
    return yaml.safe_dump(profile, sort_keys=False, allow_unicode=True)
