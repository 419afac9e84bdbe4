"""Gate benchmark: the quality gate's time as a share of the build's, full and incremental.

In one run, on the synthetic city of ``bench.build`` loaded into a fresh DuckDB:
- full ``dbt build``, then the whole gate-and-publish step (``publishing.gate_and_publish``: GE validation
  of raw, staging and marts, publish, quarantine, scorecards, run record, Data Docs);
- a 1% change appended as CDC events, the incremental ``dbt build``, then the incremental gate (row-level
  checks on the changed partition only); and, as the peer in the same run, a full re-validation of the
  same data (``run_gate`` without a partition) to show what the partition saves.

The incremental build and gate run in the process that ran the full ones, with dbt and GE loaded. An
Airflow task starts a new process: the same incremental gate is therefore run again, on a copy of the
warehouse as it was, in a new Python process, and ``import dbt`` is timed in another, for the shares of
both steps started afresh (``new_process``).
Target: the gate (validation, quarantine, scorecards, run record, Data Docs) ≤ 20% of the build it
follows, on 2 cores at 1,000,000 persons; the whole step with the publish copy is recorded beside it.

    python -m bench.gate [--persons 1000000 --entities 200000 --credit-records 2000000] [--small]
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

import duckdb

from bench.build import (
    _say,
    append_changes,
    change_events,
    cli,
    copy_project,
    generate_city,
    machine,
    timed_build,
)
from citydata.ingest.config import load_connectors
from citydata.publishing import gate_and_publish
from citydata.quality.gate import run_gate
from citydata.quality.suites import load_suites
from citydata.settings import PROJECT_ROOT, Settings
from citydata.warehouse.direct import load_frames

TARGET_SHARE = 0.20
# publishing, not gating: the swap (with open data's k-anonymisation), its audit entries, the portal's copy
PUBLICATION_PHASES = {"publish", "audit", "serving"}
RUN_1, RUN_2 = "2026-11-22T02:00:00+00:00", "2026-11-23T02:00:00+00:00"


def _gate_step(settings: Settings, suites, run_at: str, incremental: bool) -> dict:
    started = time.perf_counter()
    outcome = gate_and_publish(settings, suites, run_at=run_at, incremental=incremental)
    step = time.perf_counter() - started
    slowest = sorted(outcome.gate.tables, key=lambda t: t.rows_validated or 0, reverse=True)[:5]
    gate_s = sum(v for k, v in outcome.seconds.items() if k not in PUBLICATION_PHASES)
    return {"step_seconds": round(step, 3), "gate_seconds": round(gate_s, 3),
            "validation_seconds": round(outcome.gate.seconds, 3), "phases": outcome.seconds,
            "passed": outcome.gate.passed, "published_tables": len(outcome.published),
            "datasets": len(outcome.gate.tables),
            "rows": sum(t.rows for t in outcome.gate.tables),
            "rows_validated_row_by_row": sum(t.rows_validated or 0 for t in outcome.gate.tables),
            "quarantined_rows": sum(outcome.quarantined.values()),
            "largest_partitions": {t.table: t.rows_validated for t in slowest}}


def _in_new_process(code: str) -> str:
    """The last line ``code`` prints, run by this Python in a new process from the project root."""
    done = subprocess.run([sys.executable, "-c", code], cwd=PROJECT_ROOT, capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"a new process failed: {(done.stderr.strip().splitlines() or ['no message'])[-1]}")
    return done.stdout.strip().splitlines()[-1]


def _import_seconds(statement: str) -> float:
    """Seconds ``statement`` (imports) takes in a new process."""
    return float(_in_new_process(f"import time; t = time.perf_counter(); {statement}; "
                                 "print(time.perf_counter() - t)"))


def _gate_step_in_new_process(var_dir: Path, run_at: str) -> dict:
    """``_gate_step`` (incremental) as a new process runs it: GE is imported inside the step, as in
    ``citydata gate``; the project's own modules are loaded before the clock starts."""
    return json.loads(_in_new_process(
        "import json; from pathlib import Path; from bench.gate import _gate_step; "
        "from citydata.quality.suites import load_suites; from citydata.settings import PROJECT_ROOT, Settings; "
        f"print(json.dumps(_gate_step(Settings(var_dir=Path({str(var_dir)!r})), "
        f"load_suites(PROJECT_ROOT / 'expectations'), {run_at!r}, incremental=True)))"))


def run(persons: int, entities: int, credit_records: int, seed: int, work_dir: Path) -> dict:
    result: dict = {"benchmark": "gate", "recorded_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "machine": machine(),
                    "requested": {"persons": persons, "entities": entities, "credit_records": credit_records},
                    "seed": seed}
    connectors = load_connectors(PROJECT_ROOT / "connectors")
    suites = load_suites(PROJECT_ROOT / "expectations")
    settings = Settings(var_dir=work_dir)
    t0 = time.perf_counter()
    city, _ = generate_city(persons, entities, credit_records, seed)
    project = copy_project(work_dir)
    con = duckdb.connect(str(settings.warehouse_path))
    try:
        load_frames(con, connectors, city.final_tables())
    finally:
        con.close()
    del city
    _say("loaded; full build", t0)
    _, full = timed_build(project, settings.warehouse_path)
    result["full_build_seconds"] = full["seconds"]
    _say("full gate", t0)
    result["full_gate"] = _gate_step(settings, suites, RUN_1, incremental=False)
    con = duckdb.connect(str(settings.warehouse_path))
    try:
        result["change_events"] = sum(append_changes(con, connectors, change_events(con, seed)).values())
    finally:
        con.close()
    _say("1% change; incremental build", t0)
    _, incremental = timed_build(project, settings.warehouse_path)
    result["incremental_build_seconds"] = incremental["seconds"]
    _say("incremental gate", t0)
    fresh = work_dir / "new_process"  # the warehouse as the incremental gate finds it, for a new process
    shutil.copytree(settings.var_dir, fresh, ignore=shutil.ignore_patterns("dbt_project", "new_process"))
    result["incremental_gate"] = _gate_step(settings, suites, RUN_2, incremental=True)
    _say("incremental gate in a new process", t0)
    result["new_process"] = {"incremental_gate": _gate_step_in_new_process(fresh, RUN_2),
                             "import_seconds": {
                                 "dbt": round(_import_seconds(
                                     "import dbt.cli.main, dbt.adapters.duckdb, dbt.task.build"), 3),
                                 "great_expectations": round(_import_seconds("import great_expectations"), 3)}}
    shutil.rmtree(fresh)
    con = duckdb.connect(str(settings.warehouse_path), read_only=True)
    try:
        peer = run_gate(con, suites, layers=("raw", "staging", "marts"), run_at=RUN_2)
    finally:
        con.close()
    result["peer_full_revalidation_seconds"] = round(peer.seconds, 3)
    _say("done", t0)
    full, inc = result["full_gate"], result["incremental_gate"]
    cold = result["new_process"]
    cold_build = result["incremental_build_seconds"] + cold["import_seconds"]["dbt"]
    result["ratios"] = {
        "full_gate_vs_full_build": round(full["gate_seconds"] / result["full_build_seconds"], 3),
        "incremental_gate_vs_incremental_build": round(inc["gate_seconds"] / result["incremental_build_seconds"], 3),
        # both steps in a new process: the build plus dbt's import, the gate with GE's inside it
        "new_process_incremental_gate_vs_incremental_build": round(
            cold["incremental_gate"]["gate_seconds"] / cold_build, 3),
        "full_step_with_publish_vs_full_build": round(full["step_seconds"] / result["full_build_seconds"], 3),
        "incremental_step_with_publish_vs_incremental_build": round(
            inc["step_seconds"] / result["incremental_build_seconds"], 3),
        "incremental_validation_vs_full_revalidation": round(
            result["incremental_gate"]["validation_seconds"] / peer.seconds, 3) if peer.seconds else None,
    }
    result["targets"] = {"max_gate_share_of_build": TARGET_SHARE}
    result["met"] = {name: value <= TARGET_SHARE for name, value in result["ratios"].items()
                     if name.endswith("_gate_vs_full_build") or name.endswith("_gate_vs_incremental_build")}
    return result


def main(argv: list[str] | None = None) -> dict:
    return cli("gate", __doc__.splitlines()[0], run, argv)

if __name__ == "__main__":
    main()
