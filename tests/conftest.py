"""Shared fixtures that start real services: an embedded PostgreSQL and an embedded Kafka-protocol broker."""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from citydata.ingest.config import ConnectorConfig, load_connectors
from citydata.services.kafka import EmbeddedKafka
from citydata.services.mariadb import EmbeddedMariaDB
from citydata.services.postgres import EmbeddedPostgres
from citydata.settings import PROJECT_ROOT, WarehouseSettings


def _interrupted(signum: int, frame: object) -> None:
    raise KeyboardInterrupt(f"stopped by signal {signum}")


def pytest_configure(config: pytest.Config) -> None:
    """A run stopped by SIGTERM (a CI time limit, ``timeout``, ``kill``) unwinds as Ctrl-C does: pytest
    then tears the session down, and the fixtures below stop the services they started instead of
    leaving them running."""
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, _interrupted)


@pytest.fixture(scope="session")
def pg() -> Iterator[EmbeddedPostgres]:
    """A real PostgreSQL (wal_level=logical) on a free port, for the whole test session."""
    with EmbeddedPostgres() as server:
        yield server


@pytest.fixture(scope="session")
def pg_warehouse(pg) -> Callable[[str], WarehouseSettings]:
    """Make a fresh database on the session's PostgreSQL and return the warehouse settings
    (``CITYDATA_WAREHOUSE__*``) that point at it."""
    def make(database: str) -> WarehouseSettings:
        pg.create_database(database)
        return WarehouseSettings(engine="postgres", host=pg.host, port=pg.port, user=pg.user,
                                 password=pg.password, database=database)
    return make


@pytest.fixture(scope="session")
def connectors() -> list[ConnectorConfig]:
    return load_connectors(PROJECT_ROOT / "connectors")


@pytest.fixture
def var_dir(tmp_path: Path) -> Path:
    d = tmp_path / "var"
    d.mkdir()
    return d


@pytest.fixture(scope="session")
def kafka() -> Iterator[EmbeddedKafka]:
    """A real Kafka-protocol broker (tansu) on a free port, for the whole test session."""
    with EmbeddedKafka() as broker:
        yield broker


@pytest.fixture(scope="session")
def mariadb() -> Iterator[EmbeddedMariaDB]:
    """A real MariaDB (row-based binlog, full row metadata) on a free port, for the whole test session."""
    with EmbeddedMariaDB() as server:
        yield server
