"""Bring up the services a run needs: embedded ones unless Settings point at external ones."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass

from citydata.errors import CityDataError
from citydata.ingest.config import ConnectorConfig
from citydata.services.kafka import EmbeddedKafka
from citydata.services.postgres import EmbeddedPostgres, PostgresServer
from citydata.settings import Settings, read_secret


@dataclass
class Services:
    postgres: PostgresServer
    kafka_bootstrap: str
    embedded: list[str]


@contextmanager
def running_services(settings: Settings) -> Iterator[Services]:
    """Start what is not configured externally; everything started here is stopped on exit,
    whether the block ends normally, by an error or by Ctrl-C."""
    with ExitStack() as stack:
        embedded: list[str] = []
        pg_cfg = settings.postgres
        if pg_cfg.host:
            password = pg_cfg.password.get_secret_value() if pg_cfg.password else None
            postgres: PostgresServer = PostgresServer(pg_cfg.host, pg_cfg.port, pg_cfg.user, password)
        else:
            postgres = stack.enter_context(EmbeddedPostgres())
            embedded.append(f"PostgreSQL on 127.0.0.1:{postgres.port}")
        if settings.kafka.bootstrap_servers:
            bootstrap = settings.kafka.bootstrap_servers
        else:
            broker = stack.enter_context(EmbeddedKafka())
            bootstrap = broker.bootstrap_servers
            embedded.append(f"Kafka-protocol broker (tansu) on {bootstrap}")
        yield Services(postgres, bootstrap, embedded)


def source_server(cfg: ConnectorConfig, settings: Settings) -> PostgresServer:
    """The PostgreSQL a connector reads: its own connection block first, then Settings."""
    conn = cfg.connection
    host = (conn.host if conn and conn.host else None) or settings.postgres.host
    if not host:
        raise CityDataError(f"connector {cfg.name}: no host: set connection.host in connectors/{cfg.name}.yaml "
                            "or CITYDATA_POSTGRES__HOST (or try it on the synthetic city with --synthetic)")
    password = read_secret(conn.password_env if conn else None)
    if password is None and settings.postgres.password is not None:
        password = settings.postgres.password.get_secret_value()
    return PostgresServer(host, (conn.port if conn and conn.port else None) or settings.postgres.port,
                          (conn.user if conn and conn.user else None) or settings.postgres.user, password)


@contextmanager
def service_registry(settings: Settings, services: Services) -> Iterator[None]:
    """Tell other commands (``citydata dlq …``) where this run's services are, while it runs."""
    path = settings.state_dir / "services.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"pid": os.getpid(), "kafka": services.kafka_bootstrap}), encoding="utf-8")
    try:
        yield
    finally:
        path.unlink(missing_ok=True)


def running_bootstrap(settings: Settings) -> str:
    """Kafka to talk to: the configured cluster, else the embedded broker of a running service."""
    if settings.kafka.bootstrap_servers:
        return settings.kafka.bootstrap_servers
    path = settings.state_dir / "services.json"
    if path.exists():
        return json.loads(path.read_text(encoding="utf-8"))["kafka"]
    raise CityDataError("no Kafka to read: set CITYDATA_KAFKA__BOOTSTRAP_SERVERS, or start "
                        "`citydata connect run` (the embedded broker lives only while it runs)")


def mysql_source_server(cfg: ConnectorConfig):
    """The MySQL/MariaDB a ``type: mysql`` connector reads, from its connection block."""
    from citydata.services.mariadb import MariaDBServer

    conn = cfg.connection
    if conn is None or not conn.host:
        raise CityDataError(f"connector {cfg.name}: a mysql connector needs connection.host (and port, user, "
                            f"password_env) in connectors/{cfg.name}.yaml")
    server = MariaDBServer(conn.host, conn.port or 3306, conn.user or "root")
    return server.with_secret(conn.password_env, f"connector {cfg.name}")
