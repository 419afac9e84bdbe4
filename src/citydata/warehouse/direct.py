"""Load source-shaped frames straight into raw tables as snapshot ('r') events, bypassing Kafka.

For developing dbt models on synthetic data (空中开发) and for benchmarks that isolate the build;
the pipeline itself always lands through CDC and Kafka.
"""

from __future__ import annotations

import datetime as dt
import json
import math

import duckdb
import pandas as pd

from citydata.ingest.config import ConnectorConfig
from citydata.warehouse.raw import RawEvent, append_events


def pg_text(value: object) -> object:
    """Render a Python value the way PostgreSQL's text output would (what CDC lands)."""
    if value is None or value is pd.NA or value is pd.NaT or (isinstance(value, float) and math.isnan(value)):
        return None
    if isinstance(value, pd.Timestamp):
        value = value.to_pydatetime()
    if isinstance(value, dt.datetime):
        if value.tzinfo is not None:
            value = value.astimezone(dt.UTC)
            return value.strftime("%Y-%m-%d %H:%M:%S") + "+00"
        return value.strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(value, dt.date):
        return value.isoformat()
    if hasattr(value, "item"):  # numpy scalar
        return value.item()
    return value


def load_frames(con: duckdb.DuckDBPyConnection, connectors: list[ConnectorConfig],
                frames: dict[tuple[str, str], pd.DataFrame]) -> dict[str, int]:
    loaded_at = dt.datetime.now(dt.UTC)
    counts: dict[str, int] = {}
    by_name = {c.name: c for c in connectors}
    for (connector, table), frame in frames.items():
        cfg = by_name[connector]
        tcfg = cfg.table(table)
        topic = cfg.topic(tcfg)
        events = []
        for i, rec in enumerate(frame.to_dict("records")):
            row = {k: pg_text(v) for k, v in rec.items()}
            key = json.dumps({k: row[k] for k in tcfg.primary_key}, ensure_ascii=False, separators=(",", ":"))
            events.append(RawEvent(topic, 0, i, key, "r", 0, i, "direct", None, True, None, None,
                                   loaded_at, None, row))
        counts[topic] = append_events(con, connector, table, events)
    return counts
