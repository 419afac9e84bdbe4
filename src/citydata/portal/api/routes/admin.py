"""The administrator's view of the audit log (``/admin/audit``: newest first, filtered, 50 a page)
and its verification — every signed checkpoint, consistency between them and the inclusion of every
entry (:func:`citydata.circulation.audit_verify.verify_log`); ``/admin/audit/verify.json`` for machines.
"""

from __future__ import annotations

import json
import os
import threading
from dataclasses import asdict
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse

from citydata.circulation.audit_log import ACTIONS
from citydata.circulation.audit_verify import Verification, verify_log
from citydata.circulation.context import open_audit_log
from citydata.portal.accounts import User
from citydata.portal.auth import role_required, settings_of
from citydata.portal.present import templates

router = APIRouter(tags=["admin"])
Admin = Annotated[User, Depends(role_required("admin"))]
PAGE_SIZE = 50
Filter = Annotated[str | None, Query(max_length=200)]


_verified: dict[str, tuple[tuple, list[dict[str, Any]], Verification]] = {}
_verified_lock = threading.Lock()


def _verify(request: Request) -> tuple[list[dict[str, Any]], Verification]:
    """The log's entries and its full verification, redone only when one of its files changed (an
    append, or any edit, changes the database, its write-ahead log or the witness)."""
    with open_audit_log(settings_of(request)) as log:
        files = (log.path, log.path.with_name(log.path.name + "-wal"), log.witness_path)
        version = tuple((st.st_mtime_ns, st.st_size) if (st := _stat(f)) else None for f in files)
        with _verified_lock:
            kept = _verified.get(str(log.path))
        if kept is not None and kept[0] == version:
            return kept[1], kept[2]
        entries, report = log.entries(), verify_log(log)
    with _verified_lock:
        _verified[str(log.path)] = (version, entries, report)
    return entries, report


def _stat(path: Path) -> os.stat_result | None:
    try:
        return path.stat()
    except FileNotFoundError:
        return None


def _summary(report: Verification) -> dict[str, Any]:
    return {"ok": report.ok, **asdict(report)}


@router.get("/admin/audit", response_class=HTMLResponse, include_in_schema=False)
def audit(request: Request, user: Admin, action: Filter = None, actor: Filter = None, dataset: Filter = None,
          page: Annotated[int, Query(ge=1)] = 1) -> HTMLResponse:
    """The audit log, newest first, with the result of verifying it."""
    entries, report = _verify(request)
    chosen = {k: v.strip() for k, v in {"action": action, "actor": actor, "dataset": dataset}.items() if v and v.strip()}
    shown = [e for e in reversed(entries) if all(e.get(k) == v for k, v in chosen.items())]
    pages = max(1, -(-len(shown) // PAGE_SIZE))
    page = min(page, pages)
    rows = [{**e, "detail_text": json.dumps(e.get("detail") or {}, ensure_ascii=False, sort_keys=True)}
            for e in shown[(page - 1) * PAGE_SIZE: page * PAGE_SIZE]]

    def page_url(n: int) -> str:
        return "/admin/audit?" + urlencode({**chosen, "page": n})

    return templates.TemplateResponse(request, "admin_audit.html", {
        "entries": rows, "total": len(entries), "matching": len(shown), "page": page, "pages": pages,
        "chosen": chosen, "actions": sorted(ACTIONS), "verification": _summary(report),
        "prev_url": page_url(page - 1) if page > 1 else None, "next_url": page_url(page + 1) if page < pages else None})


@router.get("/admin/audit/verify.json", include_in_schema=False)
def verify_json(request: Request, user: Admin) -> dict[str, Any]:
    """``{"ok", "entries", "checkpoints", "inclusion_proofs", "consistency_proofs", "problems"}``."""
    return _summary(_verify(request)[1])
