"""A small synthetic city loaded and built with dbt, the warehouse the quality tests audit."""

from __future__ import annotations

from pathlib import Path

import duckdb

from citydata.settings import PROJECT_ROOT


def build_city_warehouse(directory: Path, connectors, city) -> Path:
    """Load ``city``'s final department tables as raw events and run the dbt build; returns the file."""
    from citydata.warehouse.dbt_build import build
    from citydata.warehouse.direct import load_frames

    path = directory / "warehouse.duckdb"
    con = duckdb.connect(str(path))
    try:
        load_frames(con, connectors, city.final_tables())
    finally:
        con.close()
    build(PROJECT_ROOT / "dbt_project", path)
    return path
