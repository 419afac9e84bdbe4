"""Connectors (PostgreSQL CDC), the Debezium-style envelope, the Kafka landing sink."""
