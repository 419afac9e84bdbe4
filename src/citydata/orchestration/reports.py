"""Daily reports to each department (问题回流): its latest quality scorecard and its open conflicts,
written under ``<var>/reports/<department>/<day>/`` for the department's stewards to pick up.
Read-only on the warehouse; re-running a day rewrites that day's files."""

from __future__ import annotations

import json
from pathlib import Path

from citydata.quality.warehouses import columns
from citydata.settings import Settings
from citydata.warehouse.engine import open_warehouse


def report_dir(settings: Settings, department: str, day: str) -> Path:
    return settings.var_dir / "reports" / department / day


def scorecard_report(settings: Settings, department: str, day: str) -> dict:
    """The department's scorecard of the newest gate run on or before ``day`` (rolled up over its
    datasets), and each dataset's, as ``scorecard.json``."""
    from citydata.quality.scorecards import department_scorecards

    with open_warehouse(settings, read_only=True) as warehouse:
        frame = warehouse.frame(
            "select * from quality.scorecards where department = ? and run_at = (select max(run_at) from "
            "quality.scorecards where department = ? and cast(run_at as date) <= cast(? as date))",
            [department, department, day]) if columns(warehouse, "quality.scorecards") else None
    report: dict = {"department": department, "day": day, "datasets": [], "summary": None}
    if frame is not None and not frame.empty:
        frame["run_at"] = frame["run_at"].map(lambda t: t.isoformat())
        report["datasets"] = json.loads(frame.to_json(orient="records"))
        summary = department_scorecards(frame)
        report["summary"] = json.loads(summary.to_json(orient="records"))[0] if not summary.empty else None
    out = report_dir(settings, department, day)
    out.mkdir(parents=True, exist_ok=True)
    (out / "scorecard.json").write_text(json.dumps(report, ensure_ascii=False, indent=2), encoding="utf-8")
    return {"department": department, "datasets": len(report["datasets"]), "path": str(out / "scorecard.json")}


def conflict_report(settings: Settings, department: str, day: str) -> dict:
    """The open conflicts the department must fix at the source, as ``conflicts.csv``."""
    with open_warehouse(settings, read_only=True) as warehouse:
        frame = (warehouse.frame("select * from governance.conflicts where is_open and department_to_fix = ? "
                                 "order by conflict_type, conflict_key", [department])
                 if columns(warehouse, "governance.conflicts") else None)
    out = report_dir(settings, department, day)
    out.mkdir(parents=True, exist_ok=True)
    path = out / "conflicts.csv"
    if frame is None:
        path.write_text("", encoding="utf-8")
        return {"department": department, "open": 0, "path": str(path)}
    frame.to_csv(path, index=False, encoding="utf-8")
    by_type = frame["conflict_type"].value_counts().to_dict() if len(frame) else {}
    return {"department": department, "open": len(frame), "by_type": {k: int(v) for k, v in by_type.items()},
            "path": str(path)}
