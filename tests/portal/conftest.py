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


# -- the portal over a real pipeline run ------------------------------------------------------------
# One small `citydata demo` run per test session (embedded PostgreSQL, broker, dbt, GE, publish,
# accounts); each test gets its own copy of what the portal reads, so grants and the audit log
# start empty. CITYDATA_TEST_DEMO_VAR=<dir of an earlier run> reuses that run (development only).
DEMO_PERSONS = 300
PORTAL_FILES = ("catalog.json", "serving.duckdb", "keys", "portal")
DEMO_PASSWORD = "citydata-demo"


@pytest.fixture(scope="session")
def demo_var(tmp_path_factory: pytest.TempPathFactory) -> Path:
    import os

    from rich.console import Console

    from citydata.demo.run import run_demo
    from citydata.settings import Settings

    reuse = os.environ.get("CITYDATA_TEST_DEMO_VAR")
    if reuse:
        return Path(reuse)
    var = tmp_path_factory.mktemp("portal-demo")
    settings = Settings(var_dir=var)
    settings.synth.persons = DEMO_PERSONS
    run_demo(settings, Console(quiet=True))
    return var


@pytest.fixture
def portal_settings(demo_var: Path, tmp_path: Path):
    """Settings whose var_dir holds a fresh copy of the demo's portal files (no grants, no audit log)."""
    import shutil

    from citydata.settings import Settings

    var = tmp_path / "var"
    var.mkdir()
    for name in PORTAL_FILES:
        source = demo_var / name
        if source.is_dir():
            shutil.copytree(source, var / name)
        elif source.exists():
            shutil.copy2(source, var / name)
    return Settings(var_dir=var)


@pytest.fixture
def portal(portal_settings) -> Iterator[TestClient]:
    """A TestClient over the demo run's portal (public: not signed in)."""
    with TestClient(create_app(portal_settings)) as c:
        yield c


def sign_in(client: TestClient, user: str, password: str = DEMO_PASSWORD) -> None:
    """Sign ``client`` in through the login form (CSRF token from the form page)."""
    import re

    page = client.get("/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert token, "login form has no csrf_token"
    response = client.post("/login", data={"user_id": user, "password": password, "csrf_token": token.group(1)},
                           follow_redirects=False)
    assert response.status_code == 303, response.text


def serve_in_thread(app) -> Iterator[str]:
    """Serve ``app`` with uvicorn on a free port in a daemon thread; yields its base URL."""
    import socket
    import threading
    import time

    import uvicorn

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


@pytest.fixture
def live_portal(portal_settings) -> Iterator[str]:
    """The demo run's portal served over HTTP (for real clients: a browser, ckanapi)."""
    yield from serve_in_thread(create_app(portal_settings))
