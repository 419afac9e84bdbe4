"""The gate benchmark end to end at a tiny scale, so its code cannot rot."""

from __future__ import annotations

import importlib
import json
import sys

from citydata.settings import PROJECT_ROOT


def test_gate_bench_records_shares_of_build_time(tmp_path):
    if str(PROJECT_ROOT) not in sys.path:
        sys.path.insert(0, str(PROJECT_ROOT))
    out = tmp_path / "gate.json"
    importlib.import_module("bench.gate").main(["--persons", "2000", "--entities", "400", "--credit-records", "4000",
                                                "--out", str(out), "--work-dir", str(tmp_path)])
    result = json.loads(out.read_text())
    full, inc = result["full_gate"], result["incremental_gate"]
    assert full["passed"] and inc["passed"] and full["published_tables"] == inc["published_tables"] > 10
    assert set(full["phases"]) == {"validate", "publish", "record", "quarantine", "scorecards", "data_docs",
                                   "audit", "serving"}
    assert 0 < full["gate_seconds"] < full["step_seconds"]
    # the incremental run validated row by row only part of what the full run did
    assert 0 < inc["rows_validated_row_by_row"] < full["rows_validated_row_by_row"] == full["rows"]
    assert result["change_events"] > 0 and result["peer_full_revalidation_seconds"] > 0
    assert set(result["met"]) == {"full_gate_vs_full_build", "incremental_gate_vs_incremental_build",
                                  "new_process_incremental_gate_vs_incremental_build"}
    cold = result["new_process"]
    assert cold["incremental_gate"]["passed"] and cold["incremental_gate"]["published_tables"] == inc["published_tables"]
    assert cold["import_seconds"]["dbt"] > 0 and cold["import_seconds"]["great_expectations"] > 0
