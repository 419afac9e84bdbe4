"""Every path by which the portal hands out rows (preview, download, data API, CKAN datastore)
comes through :func:`released`: it reads the published rows and passes them through the
circulation gate (:func:`citydata.circulation.release.release`) for the viewer — masking for their
role, pseudonyms for their domain, grant checks and watermarks for conditional data, the audit log.

The pseudonym master secret comes from ``CITYDATA_CIRCULATION__MASTER_SECRET``; only ``citydata
demo`` writes a stand-in (``<var>/keys/pseudonym-master.secret``, mode 0600) that the portal then
uses. Without either, pseudonymised columns and watermarked downloads are refused, never faked.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

import pandas as pd

from citydata.catalog.entities import highest_grade
from citydata.circulation.context import MIN_SECRET_BYTES, master_secret, open_audit_log, open_grants
from citydata.circulation.grading import load_grading
from citydata.circulation.grants import Actor
from citydata.circulation.masking import load_masking
from citydata.circulation.release import Gate, release
from citydata.circulation.usage import DatasetUsage, load_usage
from citydata.errors import CityDataError
from citydata.portal.serving import Page, ServingStore, dataset_name
from citydata.settings import Settings

PUBLIC = Actor("public", "public")
Openness = Literal["open", "conditional", "closed"]
# 开放属性 of the national open-data rules: 无条件开放 / 有条件开放 / 不予开放.
OPENNESS_LABELS: dict[str, tuple[str, str]] = {
    "open": ("普遍开放", "Open to all"),
    "conditional": ("有条件开放", "Open on conditions"),
    "closed": ("不予开放", "Not open"),
}


class AccessRefused(CityDataError):
    """The gate said no (logged in the audit log): shown as 403 with its one line."""


def demo_secret_path(settings: Settings) -> Path:
    return settings.var_dir / "keys" / "pseudonym-master.secret"


def write_demo_secret(settings: Settings) -> Path:
    """``citydata demo`` only: a random master secret for the embedded portal, mode 0600, kept across runs."""
    path = demo_secret_path(settings)
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(secrets.token_hex(MIN_SECRET_BYTES))
    return path


def portal_master(settings: Settings) -> bytes | None:
    if settings.circulation.master_secret is not None:
        return master_secret(settings)
    path = demo_secret_path(settings)
    if path.exists():
        if path.stat().st_mode & 0o077:
            raise CityDataError(f"master secret {path} is readable by others: chmod 600 {path}")
        return path.read_text().strip().encode()
    return None


def usage_of(settings: Settings, fqn: str) -> DatasetUsage | None:
    """The dataset's usage policy (owner, openness, terms), or None: not circulated at all."""
    usage = load_usage(settings.circulation.policies_dir)
    return usage.datasets.get(dataset_name(fqn))


def openness_of(settings: Settings, fqn: str) -> Openness:
    found = usage_of(settings, fqn)
    return found.openness if found else "closed"  # type: ignore[return-value]


def declared_grades(entity: dict[str, Any], default_grade: str) -> dict[str, str]:
    """Column grades from the catalog's DataGrade tags; a column the catalog documents without a
    grade gets the grading policy's default (``policies/grading.yaml``: reviewed, nothing personal
    declared). Columns the catalog does not know stay ungraded: release treats them as the strictest.
    Either way release raises a grade to what its detectors find in the values."""
    grades = {}
    for column in entity.get("columns") or []:
        grades[column["name"]] = highest_grade(column.get("tags") or []) or default_grade
    return grades


@contextmanager
def open_gate(settings: Settings) -> Iterator[Gate]:
    log = open_audit_log(settings)
    grants = open_grants(settings, log)
    try:
        policies = settings.circulation.policies_dir
        yield Gate(grants, load_masking(policies), load_grading(policies), portal_master(settings))
    finally:
        grants.close()
        log.close()


@dataclass(frozen=True)
class Released:
    rows: pd.DataFrame
    total: int
    limit: int
    offset: int


def released(settings: Settings, serving: ServingStore, entity: dict[str, Any], actor: Actor, *, now: datetime,
             filters: dict[str, str] | None = None, limit: int = 100, offset: int = 0, purpose: str | None = None,
             grant_id: int | None = None, download: bool = False) -> Released:
    """One page (or, with ``download``, all) of the dataset's published rows as ``actor`` may have them."""
    fqn = entity["fullyQualifiedName"]
    dataset = dataset_name(fqn)
    table = serving.table_of(dataset)
    if table is None:
        raise CityDataError(f"{fqn} has no published rows to serve (only published base-library tables do)")
    if download:
        frame = serving.all_rows(table)
        page = Page(frame, len(frame), len(frame), 0)
    else:
        page = serving.page(table, filters=filters, limit=limit, offset=offset)
    with open_gate(settings) as gate:
        try:
            rows = release(gate, page.rows, dataset, actor, purpose, now=now, grant_id=grant_id,
                           download=download, grades=declared_grades(entity, gate.grading.default_grade),
                           detected=serving.detected_classes(table))
        except CityDataError as exc:
            raise AccessRefused(str(exc)) from None
    return Released(rows, page.total, page.limit, page.offset)


def active_grants(settings: Settings, actor: Actor, fqn: str, now: datetime) -> list[Any]:
    """The actor's usable grants on the dataset, newest first."""
    dataset = dataset_name(fqn)
    with open_gate(settings) as gate:
        return [g for g in reversed(gate.grants.grants())
                if g.consumer == actor.id and g.dataset == dataset and g.status(now) == "active"]
