"""Shared dbt builds: each warehouse is loaded and built once per session (dbt starts slowly)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import duckdb
import handmade_city
import pandas as pd
import pytest

from citydata.ingest.config import ConnectorConfig
from citydata.settings import PROJECT_ROOT
from citydata.warehouse.dbt_build import DbtBuildResult, build
from citydata.warehouse.direct import load_frames

DBT_PROJECT = PROJECT_ROOT / "dbt_project"
SYNTH_PERSONS, SYNTH_SEED = 2000, 20261122

Frames = dict[tuple[str, str], pd.DataFrame]


@dataclass
class BuiltWarehouse:
    path: Path
    frames: Frames
    result: DbtBuildResult
    seconds: float

    def query(self, sql: str, params: list | None = None) -> list[tuple]:
        con = duckdb.connect(str(self.path), read_only=True)
        try:
            return con.execute(sql, params or []).fetchall()
        finally:
            con.close()

    def scalar(self, sql: str) -> object:
        return self.query(sql)[0][0]

    def frame(self, sql: str) -> pd.DataFrame:
        con = duckdb.connect(str(self.path), read_only=True)
        try:
            return con.execute(sql).df()
        finally:
            con.close()


def load_and_build(path: Path, connectors: list[ConnectorConfig], frames: Frames) -> BuiltWarehouse:
    con = duckdb.connect(str(path))
    try:
        load_frames(con, connectors, frames)
    finally:
        con.close()
    result = build(DBT_PROJECT, path)
    return BuiltWarehouse(path, frames, result, result.seconds)


@pytest.fixture(scope="session")
def dbt_project() -> Path:
    return DBT_PROJECT


@pytest.fixture(scope="session")
def handmade(tmp_path_factory, connectors) -> BuiltWarehouse:
    """The hand-made city (every defect named in handmade_city.py), built."""
    path = tmp_path_factory.mktemp("handmade") / "warehouse.duckdb"
    return load_and_build(path, connectors, handmade_city.frames())


@pytest.fixture(scope="session")
def synth_city():
    synth = pytest.importorskip("citydata.synth")
    return synth.generate(SYNTH_PERSONS, SYNTH_SEED)


@pytest.fixture(scope="session")
def synth(tmp_path_factory, connectors, synth_city) -> BuiltWarehouse:
    """The synthetic city's final state (initial rows + live changes, what expected.json counts), built."""
    path = tmp_path_factory.mktemp("synth") / "warehouse.duckdb"
    return load_and_build(path, connectors, synth_city.final_tables())
