"""The one Settings object: the only place that reads the environment.

Every value has an embedded default so ``citydata demo`` runs with nothing configured.
Set ``CITYDATA_<FIELD>`` (nested with ``__``, e.g. ``CITYDATA_KAFKA__BOOTSTRAP_SERVERS``) to point
at external services instead.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

PROJECT_ROOT = Path(__file__).resolve().parents[2]


class PostgresSettings(BaseModel):
    """Department source databases. Empty ``host`` means: start an embedded PostgreSQL."""

    host: str = ""
    port: int = 5432
    user: str = "postgres"
    password: SecretStr | None = None


class WarehouseSettings(BaseModel):
    """The warehouse raw tables land in, dbt builds, the gate validates and ``published`` lives in.
    ``engine`` "duckdb" (default): the file ``<var>/warehouse.duckdb`` (``Settings.warehouse_path``);
    "postgres": the PostgreSQL database at ``host``/``port``/``database`` (docker-compose's
    ``warehouse-db``). dbt's ``postgres`` target gets its connection from here too."""

    engine: Literal["duckdb", "postgres"] = "duckdb"
    host: str = "127.0.0.1"
    port: int = 5432
    user: str = "postgres"
    password: SecretStr | None = None
    database: str = "warehouse"


class KafkaSettings(BaseModel):
    """Kafka. Empty ``bootstrap_servers`` means: start the embedded tansu broker."""

    bootstrap_servers: str = ""
    partitions: int = 3


class IngestSettings(BaseModel):
    """The landing sink's batching and the connect service's endpoints."""

    batch_max_records: int = Field(default=20_000, ge=1)  # also bounds memory: backpressure, not buffering
    batch_max_latency_ms: int = Field(default=500, ge=10)
    metrics_host: str = "127.0.0.1"
    metrics_port: int = 9108


class PortalSettings(BaseModel):
    """The portal and data API. Accounts live in ``accounts_path`` (default
    ``<var>/portal/accounts.sqlite``); ``secure_cookies`` must be on behind HTTPS (production);
    rate limits are ``limits`` strings per API key (or per client address without one)."""

    host: str = "127.0.0.1"
    port: int = 8000
    workers: int = Field(default=1, ge=1)  # uvicorn worker processes; rate limits are per process
    accounts_path: Path | None = None
    secure_cookies: bool = False
    session_hours: int = Field(default=8, ge=1)
    rate_limit: str = "120/minute"  # per API key
    anonymous_rate_limit: str = "60/minute"  # per client address, no key
    page_size_max: int = Field(default=1000, ge=1)
    demo_password: SecretStr = SecretStr("citydata-demo")  # only `citydata demo` seeds accounts with it


class SynthSettings(BaseModel):
    persons: int = 2000
    seed: int = 20261122


class OpenMetadataSettings(BaseModel):
    """The OpenMetadata server the catalog is published to. No ``url``: publishing is a dry run
    (requests written as JSON files). The token (a bot's JWT) comes only from the environment:
    ``CITYDATA_OPENMETADATA__TOKEN``."""

    url: str | None = None  # e.g. http://localhost:8585/api
    token: SecretStr | None = None
    retries: int = Field(default=4, ge=0)  # per request, after the first attempt
    backoff_seconds: float = Field(default=1.0, ge=0)  # doubles per retry, at most 60 s


class CirculationSettings(BaseModel):
    """Trusted circulation. The pseudonym master secret comes only from the environment
    (``CITYDATA_CIRCULATION__MASTER_SECRET``); the audit log's Ed25519 signing key from
    ``CITYDATA_CIRCULATION__SIGNING_KEY`` (base64 of the 32-byte seed) or else a key file generated
    once with mode 0600 (default ``<var>/keys/audit-ed25519.key``)."""

    master_secret: SecretStr | None = None
    signing_key: SecretStr | None = None
    signing_key_path: Path | None = None
    audit_path: Path | None = None  # default <var>/audit/audit.sqlite
    policies_dir: Path = PROJECT_ROOT / "policies"
    log_origin: str = "citydata.audit/v1"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="CITYDATA_", env_nested_delimiter="__")

    var_dir: Path = Field(default=PROJECT_ROOT / "var" / "demo")
    connectors_dir: Path = PROJECT_ROOT / "connectors"
    dbt_project_dir: Path = PROJECT_ROOT / "dbt_project"
    expectations_dir: Path = PROJECT_ROOT / "expectations"
    postgres: PostgresSettings = PostgresSettings()
    warehouse: WarehouseSettings = WarehouseSettings()
    kafka: KafkaSettings = KafkaSettings()
    portal: PortalSettings = PortalSettings()
    ingest: IngestSettings = IngestSettings()
    synth: SynthSettings = SynthSettings()
    openmetadata: OpenMetadataSettings = OpenMetadataSettings()
    circulation: CirculationSettings = CirculationSettings()

    @property
    def warehouse_path(self) -> Path:
        """The DuckDB warehouse file (``warehouse.engine`` "duckdb")."""
        return self.var_dir / "warehouse.duckdb"

    @property
    def report_path(self) -> Path:
        return self.var_dir / "report.json"

    @property
    def catalog_path(self) -> Path:
        return self.var_dir / "catalog.json"

    @property
    def serving_path(self) -> Path:
        """What the portal reads: a copy of the ``published`` schema, replaced by atomic rename
        after each publish, so the portal never opens the warehouse the pipeline writes."""
        return self.var_dir / "serving.duckdb"

    @property
    def accounts_path(self) -> Path:
        return self.portal.accounts_path or self.var_dir / "portal" / "accounts.sqlite"

    @property
    def gate_path(self) -> Path:
        return self.var_dir / "gate.json"

    @property
    def data_docs_dir(self) -> Path:
        """Great Expectations Data Docs of the latest gate run (``index.html``)."""
        return self.var_dir / "data_docs"

    @property
    def synth_dir(self) -> Path:
        return self.var_dir / "synth"

    @property
    def state_dir(self) -> Path:
        """Connector offsets and dead letters that must survive restarts."""
        return self.var_dir / "state"


def get_settings(**overrides) -> Settings:
    return Settings(**overrides)


def read_secret(env_name: str | None) -> str | None:
    """A source's password, named by its connector's ``password_env``: secrets live only in the
    environment, never in connector files."""
    import os

    return os.environ.get(env_name) if env_name else None
