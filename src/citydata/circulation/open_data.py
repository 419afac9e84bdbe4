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

from citydata.circulation.audit_log import AuditLog
from citydata.circulation.kanon import KReport, k_anonymise
from citydata.circulation.usage import UsagePolicies
from citydata.quality.baselines import PUBLISHED_SCHEMA
from citydata.quality.warehouses import as_warehouse, columns, quote, tables_in

CHECKS_TABLE = "quality.kanon_checks"


def deidentify_published(target: Any, usage: UsagePolicies, run_at: str) -> dict[str, KReport]:
    """k-anonymise every published open dataset that declares quasi-identifiers, in place (``target``: a
    DuckDB connection or a warehouse from ``quality/warehouses.py``; inside the publish transaction)."""
    warehouse = as_warehouse(target)
    reports: dict[str, KReport] = {}
    published = set(tables_in(warehouse, PUBLISHED_SCHEMA))
    for dataset, policy in sorted(usage.datasets.items()):
        table = dataset.partition(".")[2]
        if policy.openness != "open" or not policy.quasi_identifiers or table not in published:
            continue
        target_table = f"{PUBLISHED_SCHEMA}.{quote(table)}"
        frame = warehouse.frame(f"select * from {target_table}")
        out, report = k_anonymise(frame, dict(policy.quasi_identifiers), policy.k, policy.max_suppression)
        warehouse.replace_table(target_table, out)
        reports[dataset] = report
    if reports:
        warehouse.execute("create schema if not exists quality")
        warehouse.execute(f"create table if not exists {CHECKS_TABLE} (run_at timestamp with time zone, "
                          "dataset varchar, k integer, achieved integer, rows_in bigint, rows_out bigint, "
                          "suppressed bigint, levels varchar, max_suppression double precision)")
        for d, r in reports.items():
            warehouse.execute(f"insert into {CHECKS_TABLE} values (cast(? as timestamp with time zone), ?, ?, ?, ?, "
                              "?, ?, ?, ?)", [run_at, d, r.k, r.achieved, r.rows_in, r.rows_out, r.suppressed,
                                              json.dumps(r.levels), r.max_suppression])
    return reports


def latest_checks(target: Any) -> dict[str, dict[str, Any]]:
    """Each dataset's latest k-anonymity check (for the catalog), or {} before any."""
    warehouse = as_warehouse(target)
    names = columns(warehouse, CHECKS_TABLE)
    if not names:
        return {}
    listed = ", ".join(quote(n) for n in names)
    frame = warehouse.frame(f"select {listed} from (select {listed}, row_number() over (partition by dataset "
                            f"order by run_at desc) as _nth from {CHECKS_TABLE}) as ranked where _nth = 1")
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
