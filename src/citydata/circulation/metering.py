"""Metering (计量) per consumer, computed from the audit log alone: requests, rows, downloads."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from citydata.circulation.audit_log import DOWNLOAD_ACTIONS, USE_ACTIONS


def metering(entries: Iterable[dict[str, Any]]) -> dict[str, dict[str, int]]:
    """``{consumer: {"requests", "rows", "downloads", "datasets"}}``, consumers sorted."""
    out: dict[str, dict[str, Any]] = {}
    for e in entries:
        if e.get("action") not in USE_ACTIONS or not e.get("consumer"):
            continue
        m = out.setdefault(e["consumer"], {"requests": 0, "rows": 0, "downloads": 0, "datasets": set()})
        m["requests"] += 1
        m["rows"] += int(e.get("rows") or 0)
        m["downloads"] += e["action"] in DOWNLOAD_ACTIONS
        if e.get("dataset"):
            m["datasets"].add(e["dataset"])
    return {c: {**m, "datasets": len(m["datasets"])} for c, m in sorted(out.items())}
