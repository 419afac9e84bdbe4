"""Kafka side of every connector: topic creation and keyed, acknowledged sends (kafka-python)."""

from __future__ import annotations

from collections.abc import Iterable

from kafka import KafkaAdminClient, KafkaProducer
from kafka.admin import NewTopic
from kafka.errors import KafkaError, TopicAlreadyExistsError

from citydata.errors import CityDataError
from citydata.ingest.envelope import encode_key, encode_value


def ensure_topics(bootstrap: str, topics: Iterable[str], partitions: int) -> None:
    try:
        admin = KafkaAdminClient(bootstrap_servers=bootstrap, client_id="citydata-admin")
    except KafkaError as exc:
        raise CityDataError(f"cannot reach Kafka at {bootstrap}: {exc}") from None
    try:
        existing = set(admin.list_topics())
        new = [NewTopic(t, partitions, 1) for t in topics if t not in existing]
        if new:
            try:
                admin.create_topics(new)
            except TopicAlreadyExistsError:
                pass
    finally:
        admin.close()


class EventProducer:
    """Sends change events keyed by primary key; ``flush`` returns only when Kafka has acknowledged."""

    def __init__(self, bootstrap: str):
        try:
            self._producer = KafkaProducer(
                bootstrap_servers=bootstrap, acks="all", linger_ms=20, batch_size=512 * 1024,
                max_request_size=8 * 1024 * 1024, retries=5, client_id="citydata-cdc")
        except KafkaError as exc:
            raise CityDataError(f"cannot reach Kafka at {bootstrap}: {exc}") from None
        self._futures: list = []
        self.sent = 0

    def send(self, topic: str, row: dict, primary_key: list[str], envelope: dict | None) -> None:
        key = encode_key(row, primary_key)
        self._futures.append(self._producer.send(topic, key=key, value=encode_value(envelope)))
        self.sent += 1
        if envelope is not None and envelope["op"] == "d":  # Debezium: a delete is followed by a tombstone
            self._futures.append(self._producer.send(topic, key=key, value=None))

    def flush(self) -> None:
        self._producer.flush()
        futures, self._futures = self._futures, []
        for f in futures:
            try:
                f.get(timeout=30)
            except KafkaError as exc:
                raise CityDataError(f"Kafka did not acknowledge an event: {exc}") from None

    def close(self) -> None:
        self._producer.close()
