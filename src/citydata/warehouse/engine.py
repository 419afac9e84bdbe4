"""The warehouse Settings choose (``CITYDATA_WAREHOUSE__ENGINE``: "duckdb", the default, or "postgres"),
opened as the one interface the publish path uses (``citydata.quality.warehouses.Warehouse``), and dbt's
connection to it.
"""

from __future__ import annotations

from pathlib import Path

from citydata.errors import CityDataError
from citydata.quality.warehouses import DuckWarehouse, PostgresWarehouse, Warehouse
from citydata.settings import Settings, WarehouseSettings
from citydata.warehouse import duck, postgres


def describe(settings: Settings) -> str:
    """Where the warehouse is, for messages (no password)."""
    w = settings.warehouse
    if w.engine == "postgres":
        return f"PostgreSQL {w.user}@{w.host}:{w.port}/{w.database}"
    return str(settings.warehouse_path)


def open_warehouse(settings: Settings, read_only: bool = False) -> Warehouse:
    """The warehouse, open (close it, or use it as a context manager). ``read_only`` applies to DuckDB,
    whose file admits one writing process."""
    if settings.warehouse.engine == "duckdb":
        return DuckWarehouse(duck.connect(settings.warehouse_path, read_only=read_only))
    import psycopg2
    import sqlalchemy.exc

    try:
        return PostgresWarehouse(postgres.url(settings.warehouse))
    except (sqlalchemy.exc.DBAPIError, psycopg2.OperationalError) as exc:
        first = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
        raise CityDataError(f"cannot connect to the warehouse ({describe(settings)}): {first} — check "
                            "CITYDATA_WAREHOUSE__HOST/PORT/USER/PASSWORD/DATABASE") from None


def dbt_environment(warehouse: WarehouseSettings, warehouse_path: Path) -> dict[str, str]:
    """The variables ``dbt_project/profiles.yml`` reads: the DuckDB file, and — when the warehouse is
    PostgreSQL — its connection (``CITYDATA_DBT_POSTGRES_*``), so users set only ``CITYDATA_WAREHOUSE__*``."""
    env = {"CITYDATA_WAREHOUSE_PATH": str(warehouse_path.resolve())}
    if warehouse.engine == "postgres":
        env.update({"CITYDATA_DBT_POSTGRES_HOST": warehouse.host, "CITYDATA_DBT_POSTGRES_PORT": str(warehouse.port),
                    "CITYDATA_DBT_POSTGRES_USER": warehouse.user,
                    "CITYDATA_DBT_POSTGRES_PASSWORD": warehouse.password.get_secret_value() if warehouse.password
                    else "",
                    "CITYDATA_DBT_POSTGRES_DATABASE": warehouse.database})
    return env
