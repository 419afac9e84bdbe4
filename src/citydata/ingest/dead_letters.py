"""Dead letters: list what landed in ``<topic>.dlq`` and replay it to its origin topic after a fix.

Each dead letter keeps the original key and value bytes; its headers say why and where it came
from (``dlq.reason``, ``dlq.topic``, ``dlq.partition``, ``dlq.offset``). Replay re-produces the
original bytes to the origin topic through a consumer group, so each dead letter is replayed once;
one that is still bad is dead-lettered again by the sink with its new reason.
"""

from __future__ import annotations

from dataclasses import dataclass

from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer, TopicPartition
from kafka.errors import KafkaError

from citydata.errors import CityDataError

REPLAY_GROUP = "citydata-dlq-replay"


@dataclass
class DeadLetter:
    dlq_topic: str
    partition: int
    offset: int
    origin: str
    reason: str
    key: str | None
    value_preview: str


def dlq_topics(bootstrap: str) -> list[str]:
    try:
        admin = KafkaAdminClient(bootstrap_servers=bootstrap, client_id="citydata-dlq-admin")
    except KafkaError as exc:
        raise CityDataError(f"cannot reach Kafka at {bootstrap}: {exc}") from None
    try:
        return sorted(t for t in admin.list_topics() if t.endswith(".dlq"))
    finally:
        admin.close()


def _headers(msg) -> dict[str, str]:
    return {k: v.decode("utf-8", "replace") for k, v in (msg.headers or [])}


def list_dead_letters(bootstrap: str, topics: list[str] | None = None, limit: int = 1000) -> list[DeadLetter]:
    topics = topics or dlq_topics(bootstrap)
    consumer = KafkaConsumer(bootstrap_servers=bootstrap, group_id=None, enable_auto_commit=False,
                             client_id="citydata-dlq-list")
    try:
        parts = [TopicPartition(t, p) for t in topics for p in sorted(consumer.partitions_for_topic(t) or [])]
        if not parts:
            return []
        consumer.assign(parts)
        consumer.seek_to_beginning(*parts)
        ends = consumer.end_offsets(parts)
        letters: list[DeadLetter] = []
        while any(consumer.position(tp) < ends[tp] for tp in parts) and len(letters) < limit:
            for tp, msgs in consumer.poll(timeout_ms=1000).items():
                for m in msgs:
                    h = _headers(m)
                    letters.append(DeadLetter(
                        tp.topic, tp.partition, m.offset, f"{h.get('dlq.topic', '?')}"
                        f"[{h.get('dlq.partition', '?')}]@{h.get('dlq.offset', h.get('dlq.origin', '?'))}",
                        h.get("dlq.reason", "?"), m.key.decode("utf-8", "replace") if m.key else None,
                        (m.value or b"").decode("utf-8", "replace")[:120]))
        return letters[:limit]
    finally:
        consumer.close()


def replay(bootstrap: str, dlq_topic: str, timeout_s: float = 30.0) -> int:
    """Send every not-yet-replayed dead letter of ``dlq_topic`` back to its origin. Returns how many."""
    if not dlq_topic.endswith(".dlq"):
        raise CityDataError(f"{dlq_topic} is not a dead-letter topic (they end in .dlq)")
    consumer = KafkaConsumer(dlq_topic, bootstrap_servers=bootstrap, group_id=REPLAY_GROUP,
                             enable_auto_commit=False, auto_offset_reset="earliest",
                             session_timeout_ms=6000, heartbeat_interval_ms=1000, client_id="citydata-dlq-replay")
    producer = KafkaProducer(bootstrap_servers=bootstrap, acks="all", client_id="citydata-dlq-replay")
    replayed = 0
    try:
        import time

        deadline = time.monotonic() + timeout_s
        idle = 0
        while time.monotonic() < deadline and idle < 3:
            batch = consumer.poll(timeout_ms=1000)
            if not batch:
                idle += 1 if consumer.assignment() else 0
                continue
            idle = 0
            for msgs in batch.values():
                for m in msgs:
                    if _headers(m).get("dlq.source") == "file-drop":
                        continue  # a rejected file line is not an event: fix the file and drop it again
                    origin = _headers(m).get("dlq.topic") or dlq_topic.removesuffix(".dlq")
                    producer.send(origin, key=m.key, value=m.value,
                                  headers=[("dlq.replayed_from", f"{dlq_topic}@{m.partition}:{m.offset}".encode())])
                    replayed += 1
            producer.flush()
            consumer.commit()  # only after the origin topic has the messages
    finally:
        consumer.close()
        producer.close()
    return replayed
