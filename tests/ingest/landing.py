"""Shared check for every connector: land the topics, verify the current state, replay, verify again."""

from __future__ import annotations

import uuid

import duckdb

from citydata.ingest.config import ConnectorConfig
from citydata.ingest.sink import LandingSink


def land_then_replay(bootstrap: str, con: duckdb.DuckDBPyConnection, cfg: ConnectorConfig, table: str,
                     query_columns: str, expected_state: list[tuple], expected_log_rows: int) -> None:
    """Landing gives ``expected_state``; a second consumer group replaying every topic lands nothing,
    recognises every event as a duplicate, and leaves state and change log unchanged."""
    view, log = f"raw.{cfg.name}__{table}__current", f"raw.{cfg.name}__{table}"
    sink = LandingSink(bootstrap, con, [cfg], group_id=f"g-{uuid.uuid4().hex}")
    sink.drain(timeout_s=60)
    sink.close()
    state_query = f"select {query_columns} from {view} order by 1"
    assert con.execute(state_query).fetchall() == expected_state
    assert con.execute(f"select count(*) from {log}").fetchone()[0] == expected_log_rows
    replay = LandingSink(bootstrap, con, [cfg], group_id=f"g-{uuid.uuid4().hex}")
    replay.drain(timeout_s=60)
    replay.close()
    assert replay.stats.landed == 0 and replay.stats.duplicates == expected_log_rows
    assert con.execute(state_query).fetchall() == expected_state
    assert con.execute(f"select count(*) from {log}").fetchone()[0] == expected_log_rows
