"""What citydata's DAG files share: owners and retries, asset URIs, the sources and departments
DAGs are generated for, and the run's logical time. Light enough for DAG parse time (YAML and JSON
reads only; no Airflow import, no database, no network)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from citydata.ingest.config import load_connectors
from citydata.settings import Settings

BUREAU = "data_bureau"  # owner of the cross-department DAGs
START = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
PUBLISHED_URI = "citydata://published/base_libraries"


def default_args(owner: str, retries: int = 2, minutes: float = 5) -> dict[str, Any]:
    return {"owner": owner, "retries": retries, "retry_delay": dt.timedelta(minutes=minutes),
            "retry_exponential_backoff": True}


def raw_asset_uri(source: str) -> str:
    """The asset a landing of ``source`` updates: its raw change-log tables."""
    return f"citydata://raw/{source}"


def sources(settings: Settings | None = None) -> list[tuple[str, str]]:
    """(connector, department code) for every source, in connector order."""
    settings = settings or Settings()
    return [(c.name, c.department.code) for c in load_connectors(settings.connectors_dir)]


def departments(settings: Settings | None = None) -> list[tuple[str, str]]:
    """(department code, English name) for every department with a source, each once."""
    settings = settings or Settings()
    seen: dict[str, str] = {}
    for c in load_connectors(settings.connectors_dir):
        seen.setdefault(c.department.code, c.department.name_en)
    return list(seen.items())


def run_at(context: Mapping[str, Any]) -> str:
    """The run's logical time as ISO text: the data interval's end, or — for runs an asset or a person
    triggered, which have no interval — when the run was due."""
    when = context.get("data_interval_end")
    if when is None:
        when = context["dag_run"].run_after
    return when.isoformat()


def day(context: Mapping[str, Any]) -> str:
    return run_at(context)[:10]
