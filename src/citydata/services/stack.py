"""Bring up the services a run needs: embedded ones unless Settings point at external ones."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass

from citydata.services.kafka import EmbeddedKafka
from citydata.services.postgres import EmbeddedPostgres, PostgresServer
from citydata.settings import Settings


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
