"""The steward console (``/steward``): requests to decide, active grants to revoke, the own
department's conflicts and quarantined rows, and the use of the department's datasets.

A steward sees what belongs to their department: the datasets ``policies/usage.yaml`` gives that
department as owner (the department is the steward's entry under ``stewards``, else their account's
department), the governance conflicts it has to fix and the rows quarantined from its sources.
Every decision is checked per object before it is made (another department's request or grant:
403, nothing changed) and again by GrantStore, which also logs it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

import pandas as pd
from fastapi import APIRouter, Depends, Form, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from citydata.circulation.grants import AccessRequest, Grant, GrantStore
from citydata.circulation.metering import metering
from citydata.circulation.usage import UsagePolicies
from citydata.errors import CityDataError
from citydata.portal.access import open_gate
from citydata.portal.accounts import User
from citydata.portal.api.deps import Catalog
from citydata.portal.api.routes.account import dataset_fqns
from citydata.portal.auth import CsrfChecked, now, role_required, settings_of
from citydata.portal.present import templates
from citydata.portal.serving import ServingStore
from citydata.quality.warehouses import quote

router = APIRouter(tags=["steward"])
Steward = Annotated[User, Depends(role_required("steward"))]
Reason = Annotated[str, Form(max_length=500, pattern=r"\S")]  # not blank

CONFLICT_COLUMNS = ("conflict_id", "conflict_type", "subject", "details", "first_seen_at", "last_seen_at",
                    "is_open")
CONFLICT_LABELS = {"conflict_id": ("编号", "id"), "conflict_type": ("冲突类型", "type"), "subject": ("对象", "subject"),
                   "details": ("说明", "details"), "first_seen_at": ("首次发现", "first seen"),
                   "last_seen_at": ("最近发现", "last seen"), "is_open": ("未解决", "open")}
QUARANTINE_META = ("_key", "_expectation", "_column", "_quarantined_at")
CONFLICTS_SHOWN = 50
QUARANTINE_ROWS_SHOWN = 5


def department_of(user: User, usage: UsagePolicies) -> str | None:
    """The department a steward acts for: their entry under ``stewards`` in usage.yaml, else their account's."""
    return usage.stewards.get(user.id) or user.department


def _owned(usage: UsagePolicies, department: str | None) -> list[str]:
    return sorted(name for name, d in usage.datasets.items() if department and d.owner == department)


def _may_decide(store: GrantStore, user: User, dataset: str, doing: str) -> None:
    """403 (one line, nothing changed) unless ``user`` is a steward of the department owning ``dataset``."""
    try:
        store.usage.require_steward(user.id, dataset, doing)
    except CityDataError as exc:
        raise HTTPException(403, str(exc)) from None


def _request(store: GrantStore, request_id: int) -> AccessRequest:
    try:
        return store.request_of(request_id)
    except CityDataError as exc:
        raise HTTPException(404, str(exc)) from None


def _grant(store: GrantStore, grant_id: int) -> Grant:
    try:
        return store.grant_of(grant_id)
    except CityDataError as exc:
        raise HTTPException(404, str(exc)) from None


# -- what the console shows ------------------------------------------------------------------------------

def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """Rows for a template: missing values as None, timestamps as text."""
    return [{k: (None if _missing(v) else str(v) if isinstance(v, pd.Timestamp) else v) for k, v in row.items()}
            for row in frame.to_dict("records")]


def _missing(value: Any) -> bool:
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):  # lists and arrays are values, not missing
        return False


def _published_columns(serving: ServingStore, table: str) -> list[str]:
    try:
        return serving.columns(table)
    except CityDataError:
        return []


def conflicts(serving: ServingStore, department: str | None) -> dict[str, Any]:
    """The department's governance conflicts (``published.conflicts``), open ones first."""
    columns = _published_columns(serving, "conflicts")
    if not department or "department_to_fix" not in columns:
        return {"available": False, "rows": [], "columns": [], "total": 0, "open": 0}
    shown = [c for c in CONFLICT_COLUMNS if c in columns]
    order = ", ".join(f"{quote(c)} desc" for c in ("is_open", "last_seen_at", "conflict_id") if c in columns)
    rows = serving.query(f"select {', '.join(map(quote, shown))} from published.conflicts"
                         f" where department_to_fix = ? order by {order} limit ?", [department, CONFLICTS_SHOWN])
    opened = "count(*) filter (where is_open)" if "is_open" in columns else "count(*)"
    total, open_ = serving.query(f"select count(*), {opened} from published.conflicts where department_to_fix = ?",
                                 [department]).iloc[0]
    return {"available": True, "rows": _records(rows), "columns": shown, "total": int(total), "open": int(open_)}


def quarantine(serving: ServingStore, department: str | None) -> list[dict[str, Any]]:
    """Per quarantine table: the department's quarantined rows — count, by expectation, the newest rows."""
    if not department:
        return []
    try:
        found = serving.query("select table_name, list(column_name order by column_index) as columns"
                              " from duckdb_columns() where schema_name = 'quarantine' group by table_name"
                              " order by table_name")
    except CityDataError:
        return []
    out = []
    for table, columns in found.itertuples(index=False):
        columns = list(columns)
        if not set(QUARANTINE_META) | {"_department"} <= set(columns):
            continue
        source = f"quarantine.{quote(table)}"
        checks = serving.query(f"select _expectation, _column, count(*) as n from {source} where _department = ?"
                               " group by all order by n desc, _expectation, _column", [department])
        if checks.empty:
            continue
        data = [c for c in columns if c not in (*QUARANTINE_META, "_department")]
        rows = serving.query(f"select {', '.join(map(quote, [*QUARANTINE_META, *data]))} from {source}"
                             " where _department = ? order by _quarantined_at desc, _key limit ?",
                             [department, QUARANTINE_ROWS_SHOWN])
        out.append({"table": table, "count": int(checks["n"].sum()), "checks": _records(checks),
                    "columns": [*QUARANTINE_META, *data], "rows": _records(rows)})
    return out


def usage_report(entries: list[dict[str, Any]], datasets: list[str]) -> list[dict[str, Any]]:
    """Per own dataset: uses, rows and downloads in all and per consumer (metering of the audit log)."""
    report = []
    for name in datasets:
        consumers = metering(e for e in entries if e.get("dataset") == name)
        report.append({"dataset": name, "consumers": consumers,
                       **{k: sum(m[k] for m in consumers.values()) for k in ("requests", "rows", "downloads")}})
    return report


@router.get("/steward", response_class=HTMLResponse, include_in_schema=False)
def console(request: Request, user: Steward, catalog: Catalog) -> HTMLResponse:
    settings, at = settings_of(request), now()
    serving: ServingStore = request.app.state.serving
    with open_gate(settings) as gate:
        usage = gate.grants.usage
        department = department_of(user, usage)
        owned = _owned(usage, department)
        pending = [r for r in gate.grants.requests() if r.status == "pending" and r.dataset in owned]
        grants = [{"g": g, "used": gate.log.grant_usage(g.id)} for g in reversed(gate.grants.grants())
                  if g.dataset in owned and g.status(at) == "active"]
        entries = gate.log.entries()
    return templates.TemplateResponse(request, "steward.html", {
        "department": department, "listed": user.id in usage.stewards, "owned": owned, "pending": pending,
        "grants": grants, "purposes": usage.purposes, "conflict_labels": CONFLICT_LABELS, "fqns": dataset_fqns(catalog),
        "conflicts": conflicts(serving, department), "quarantine": quarantine(serving, department),
        "usage": usage_report(entries, owned)})


# -- decisions -------------------------------------------------------------------------------------------

def _decide(request: Request, request_id: int, user: User, decision: Callable[[GrantStore], object]) -> Response:
    """Check that ``user`` may decide request ``request_id`` (403 otherwise), then make ``decision``."""
    with open_gate(settings_of(request)) as gate:
        asked = _request(gate.grants, request_id)
        _may_decide(gate.grants, user, asked.dataset, f"decide on request {request_id} for {asked.dataset}")
        decision(gate.grants)
    return RedirectResponse("/steward#requests", status_code=303)


@router.post("/steward/requests/{request_id}/approve", include_in_schema=False, dependencies=[CsrfChecked])
def approve(request: Request, request_id: int, user: Steward) -> Response:
    return _decide(request, request_id, user, lambda store: store.approve(request_id, user.id, now()))


@router.post("/steward/requests/{request_id}/reject", include_in_schema=False, dependencies=[CsrfChecked])
def reject(request: Request, request_id: int, user: Steward, reason: Reason) -> Response:
    return _decide(request, request_id, user, lambda store: store.reject(request_id, user.id, reason.strip(), now()))


@router.post("/steward/grants/{grant_id}/revoke", include_in_schema=False, dependencies=[CsrfChecked])
def revoke(request: Request, grant_id: int, user: Steward, reason: Reason) -> Response:
    with open_gate(settings_of(request)) as gate:
        grant = _grant(gate.grants, grant_id)
        _may_decide(gate.grants, user, grant.dataset, f"revoke grant {grant_id} on {grant.dataset}")
        gate.grants.revoke(grant_id, user.id, reason.strip(), now())
    return RedirectResponse("/steward#grants", status_code=303)
