"""The one gate for outbound data: every API response, download and export of a dataset passes here.

:func:`release` decides on what basis the reader gets anything — the owning department's own staff,
an open dataset, or a grant on a conditional one (closed datasets and unknown datasets: nothing) —
checks the grant, applies :func:`~citydata.circulation.masking.enforce` for the reader's role and
domain, watermarks downloads made under a grant (:func:`~citydata.circulation.watermark.issue_extract`)
and appends the use to the audit log, all under the grant store's lock. A refusal is logged too,
then raised as one line. Grades are the caller's (the catalog's) raised to what the detectors find
in the values; a column graded by neither counts as L4.
"""

from __future__ import annotations

from contextlib import nullcontext
from dataclasses import dataclass
from datetime import datetime

import pandas as pd

from citydata.circulation.audit_log import AuditLog
from citydata.circulation.detectors import classify_frame
from citydata.circulation.grading import GradingPolicy
from citydata.circulation.grants import Actor, Grant, GrantStore
from citydata.circulation.masking import MaskingPolicy, enforce
from citydata.circulation.pseudonyms import Pseudonymiser
from citydata.circulation.usage import DatasetUsage
from citydata.circulation.watermark import issue_extract
from citydata.errors import CityDataError


@dataclass
class Gate:
    """What the gate decides with: grants (with usage policies and the audit log), masking, grading and
    the pseudonym master secret (needed for pseudonymised columns and for watermarked downloads)."""

    grants: GrantStore
    masking: MaskingPolicy
    grading: GradingPolicy
    master: bytes | None = None

    @property
    def log(self) -> AuditLog:
        return self.grants.log


def column_grades(frame: pd.DataFrame, grading: GradingPolicy, declared: dict[str, str] | None = None,
                  detected: dict[str, str | None] | None = None) -> tuple[dict[str, str], dict[str, str | None]]:
    """(grades, classes) per column: the declared grade raised to the detected class's grade.
    ``detected`` holds classes the caller found over the whole table (a page is a poor sample);
    columns it lacks are classified on ``frame``."""
    declared = declared or {}
    detected = detected or {}
    grades: dict[str, str] = {}
    classes: dict[str, str | None] = {c: detected[c] for c in frame.columns if c in detected}
    unknown = [c for c in frame.columns if c not in classes]
    for detection in classify_frame(frame[unknown]) if unknown else []:
        classes[detection.column] = detection.classification
    for column in frame.columns:
        cls = classes[column]
        found = [g for g in (declared.get(column), grading.grade_of(cls) if cls else None) if g]
        if found:
            grades[column] = max(found)
    return grades, classes


def _basis(usage: DatasetUsage, dataset: str, actor: Actor, grant_id: int | None) -> str:
    if actor.department is not None and actor.department == usage.owner:
        return "owner"
    if usage.openness == "open":
        return "open"
    if usage.openness == "closed":
        raise CityDataError(f"{dataset} is closed (不予开放): only {usage.owner} staff may read it")
    if grant_id is None:
        raise CityDataError(f"{dataset} is open on conditions (有条件开放): apply for a grant "
                            f"(`citydata access request {dataset} …`) and present it")
    return "grant"


def release(gate: Gate, frame: pd.DataFrame, dataset: str, actor: Actor, purpose: str | None = None, *,
            now: datetime, grant_id: int | None = None, download: bool = False,
            grades: dict[str, str] | None = None, detected: dict[str, str | None] | None = None) -> pd.DataFrame:
    """What ``actor`` may receive of ``frame`` (rows of ``dataset``); raises a logged one-line refusal.
    Only a use under a grant holds the grant store's lock (from the check until the use is logged);
    the owner's staff and open reads need no count kept, so they do not queue behind each other."""
    try:
        basis = _basis(gate.grants.usage.dataset(dataset), dataset, actor, grant_id)
        with gate.grants.exclusive() if basis == "grant" else nullcontext():
            return _release(gate, frame, dataset, actor, purpose, now, grant_id, download, grades, detected, basis)
    except CityDataError as exc:
        gate.log.append("refuse", actor.id, consumer=actor.id, dataset=dataset, at=now, role=actor.role,
                        purpose=purpose, grant=grant_id, download=download, reason=str(exc))
        raise


def _release(gate: Gate, frame: pd.DataFrame, dataset: str, actor: Actor, purpose: str | None, now: datetime,
             grant_id: int | None, download: bool, declared: dict[str, str] | None,
             detected: dict[str, str | None] | None, basis: str) -> pd.DataFrame:
    grant: Grant | None = None
    if basis == "grant":
        assert grant_id is not None
        grant = gate.grants.check(grant_id, actor, dataset, purpose, rows=len(frame), download=download, now=now)
    domain = grant.domain if grant else actor.domain
    pseudonymiser = Pseudonymiser(gate.master, domain) if gate.master and domain else None
    grades, classes = column_grades(frame, gate.grading, declared, detected)
    detail = {"basis": basis, "grant": grant_id, "purpose": purpose}
    if grant and download:
        if pseudonymiser is None or gate.master is None:
            raise CityDataError(f"grant {grant_id} names no consumer domain (or no master secret is set): "
                                "a restricted extract cannot be watermarked")
        return issue_extract(frame, grades, recipient=actor.id, role=actor.role, dataset=dataset,
                             policy=gate.masking, domain=pseudonymiser, master=gate.master, log=gate.log,
                             classes=classes, actor=actor.id, action="download", at=now, **detail)
    visible = enforce(frame, grades, actor.role, gate.masking, classes=classes, pseudonymiser=pseudonymiser)
    if basis != "open" or download:
        gate.log.append("download" if download else "restricted_read", actor.id, consumer=actor.id,
                        dataset=dataset, rows=len(visible), at=now, role=actor.role, domain=domain,
                        columns=list(visible.columns), **detail)
    return visible
