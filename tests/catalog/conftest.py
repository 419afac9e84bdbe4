"""Fixtures for catalog tests: the real connectors plus a fake dbt manifest, gate results, row counts;
a stand-in OpenMetadata server."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from om_server import FakeOpenMetadata

from citydata.catalog import build_catalog
from citydata.ingest.config import ConnectorConfig

FIXTURES = Path(__file__).parent / "fixtures"


@pytest.fixture(scope="session")
def manifest_path() -> Path:
    return FIXTURES / "manifest.json"


@pytest.fixture(scope="session")
def gate_results() -> dict[str, Any]:
    return json.loads((FIXTURES / "gate.json").read_text(encoding="utf-8"))


@pytest.fixture(scope="session")
def row_counts() -> dict[str, int]:
    return json.loads((FIXTURES / "row_counts.json").read_text(encoding="utf-8"))


@pytest.fixture(scope="session")
def catalog(connectors: list[ConnectorConfig], manifest_path: Path, gate_results: dict,
            row_counts: dict) -> dict[str, Any]:
    return build_catalog(connectors, manifest_path, gate_results, row_counts)


@pytest.fixture
def om_server() -> Iterator[FakeOpenMetadata]:
    """A stand-in OpenMetadata server on a free port (see om_server.py), stopped after the test."""
    fake = FakeOpenMetadata(token="test-token")
    fake.start()
    yield fake
    fake.stop()
