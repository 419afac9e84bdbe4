"""Portal fixtures: a catalog JSON built from the real connectors and the catalog tests' fake dbt
manifest / gate results, written to tmp_path, and a TestClient over it."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from citydata.catalog import build_catalog, write_catalog
from citydata.ingest.config import ConnectorConfig
from citydata.portal import create_app

FIXTURES = Path(__file__).parents[1] / "catalog" / "fixtures"


@pytest.fixture(scope="session")
def built_catalog(connectors: list[ConnectorConfig]) -> dict:
    def load(name: str) -> dict:
        return json.loads((FIXTURES / name).read_text(encoding="utf-8"))

    return build_catalog(connectors, FIXTURES / "manifest.json", load("gate.json"), load("row_counts.json"))


@pytest.fixture
def catalog_path(tmp_path: Path, built_catalog: dict) -> Path:
    return write_catalog(built_catalog, tmp_path / "catalog.json")


@pytest.fixture
def client(catalog_path: Path) -> Iterator[TestClient]:
    with TestClient(create_app(catalog_path)) as c:
        yield c
