"""Publication's circulation side: open datasets about persons are k-anonymised in ``published``
before anyone can read them, the check's result is kept with the dataset (``quality.kanon_checks``,
served to the portal, attached to the catalog), and every publication — and every change of a policy
file since the last one — is appended to the audit log.
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime
from pathlib import Path
from typing import Any

import duckdb

from citydata.circulation.audit_log import AuditLog
from citydata.circulation.kanon import KReport, k_anonymise
from citydata.circulation.usage import UsagePolicies
from citydata.quality.baselines import PUBLISHED_SCHEMA
from citydata.quality.warehouses import quote

CHECKS_TABLE = "quality.kanon_checks"


def deidentify_published(con: duckdb.DuckDBPyConnection, usage: UsagePolicies, run_at: str) -> dict[str, KReport]:
    """k-anonymise every published open dataset that declares quasi-identifiers, in place."""
    reports: dict[str, KReport] = {}
    published = {r[0] for r in con.execute(
        "select table_name from duckdb_tables() where schema_name = ? and database_name = current_database()",
        [PUBLISHED_SCHEMA]).fetchall()}
    for dataset, policy in sorted(usage.datasets.items()):
        table = dataset.partition(".")[2]
        if policy.openness != "open" or not policy.quasi_identifiers or table not in published:
            continue
        target = f"{PUBLISHED_SCHEMA}.{quote(table)}"
        frame = con.execute(f"select * from {target}").df()
        out, report = k_anonymise(frame, dict(policy.quasi_identifiers), policy.k, policy.max_suppression)
        con.register("_kanon_out", out)
        try:
            con.execute(f"create or replace table {target} as select * from _kanon_out")
        finally:
            con.unregister("_kanon_out")
        reports[dataset] = report
    if reports:
        con.execute("create schema if not exists quality")
        con.execute(f"create table if not exists {CHECKS_TABLE} (run_at timestamptz, dataset varchar, k integer, "
                    "achieved integer, rows_in bigint, rows_out bigint, suppressed bigint, levels varchar, "
                    "max_suppression double)")
        con.executemany(f"insert into {CHECKS_TABLE} values (?, ?, ?, ?, ?, ?, ?, ?, ?)", [
            [run_at, d, r.k, r.achieved, r.rows_in, r.rows_out, r.suppressed, json.dumps(r.levels), r.max_suppression]
            for d, r in reports.items()])
    return reports


def latest_checks(con: duckdb.DuckDBPyConnection) -> dict[str, dict[str, Any]]:
    """Each dataset's latest k-anonymity check (for the catalog), or {} before any."""
    try:
        frame = con.execute(f"select * from {CHECKS_TABLE} qualify row_number() over "
                            "(partition by dataset order by run_at desc) = 1").df()
    except duckdb.CatalogException:
        return {}
    return {r["dataset"]: {**r, "run_at": r["run_at"].isoformat(), "levels": json.loads(r["levels"])}
            for r in frame.to_dict(orient="records")}


def log_publication(log: AuditLog, datasets: dict[str, int], kanon: dict[str, KReport], at: datetime,
                    actor: str = "pipeline") -> None:
    """One ``publish`` entry per published dataset (``<library>.<table>`` → rows published, and its
    k-anonymity check if any)."""
    for dataset, rows in sorted(datasets.items()):
        report = kanon.get(dataset)
        detail = {"kanon": report.to_dict()} if report else {}
        log.append("publish", actor, dataset=dataset, rows=report.rows_out if report else rows, at=at,
                   table=f"{PUBLISHED_SCHEMA}.{dataset.partition('.')[2]}", **detail)


def log_policy_changes(log: AuditLog, policies_dir: Path, at: datetime, actor: str = "pipeline") -> list[str]:
    """A ``policy_change`` entry for each policy file whose SHA-256 differs from the one the log last
    recorded (the first run records them all). Returns the files logged."""
    last = {e["detail"]["file"]: e["detail"]["sha256"] for e in log.entries("policy_change")}
    changed = []
    for path in sorted(Path(policies_dir).glob("*.yaml")):
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
        if last.get(path.name) != digest:
            log.append("policy_change", actor, at=at, file=path.name, sha256=digest, previous=last.get(path.name))
            changed.append(path.name)
    return changed
