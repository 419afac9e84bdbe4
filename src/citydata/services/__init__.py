"""Embedded services started and stopped by the CLI and the tests: PostgreSQL and a Kafka-protocol broker."""
