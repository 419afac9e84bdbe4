"""The build benchmark end to end at a tiny scale, so its code cannot rot; and the fast loader it relies on
writes exactly what the per-row loader wrote."""

from __future__ import annotations

import importlib
import json
import sys

import duckdb
import pandas as pd

from citydata.settings import PROJECT_ROOT
from citydata.warehouse.direct import load_frames, pg_text
from citydata.warehouse.raw import RawEvent, append_events


def bench_build():
    """``bench.build``: the benchmarks live beside ``src``, not in the installed package."""
    if str(PROJECT_ROOT) not in sys.path:
        sys.path.insert(0, str(PROJECT_ROOT))
    return importlib.import_module("bench.build")


def test_build_bench_records_builds_change_and_resolution(tmp_path):
    out = tmp_path / "build.json"
    bench_build().main(["--persons", "3000", "--entities", "600", "--credit-records", "6000", "--out", str(out),
          "--work-dir", str(tmp_path)])
    result = json.loads(out.read_text())
    assert result["honoured"][0] == "persons" and result["machine"]["cpus"] >= 1
    for build in ("full_build", "incremental_build"):
        b = result[build]
        assert b["seconds"] > 0 and b["counts"].get("success", 0) > 10 and len(b["slowest_nodes"]) == 10
        assert b["node_seconds_models"] > 0 and b["node_seconds_tests"] > 0 and len(b["load_average_after"]) == 3
    change = result["incremental_change"]
    assert change["by_op"]["u"] > change["by_op"]["d"] > 0
    assert sum(change["events"].values()) == sum(change["by_op"].values())  # every event landed once
    er = result["entity_resolution"]
    assert er["ours"]["records"] == er["splink"]["records"] > 50
    assert 0.5 < er["ours"]["f1"] <= 1 and 0.5 < er["splink"]["f1"] <= 1
    assert result["ratios"]["f1_ours_vs_splink"] == round(er["ours"]["f1"] / er["splink"]["f1"], 4)
    assert result["ratios"]["full_vs_target"] == round(result["full_build"]["seconds"] / 120, 3)


def test_load_frames_writes_what_per_row_events_write(connectors):
    frame = pd.DataFrame({
        "person_no": pd.array([1, 2, 3], dtype="Int64"), "id_number": ["120101199001011234", None, "x\"y"],
        "birth_date": [pd.Timestamp("1990-01-01").date(), None, pd.Timestamp("2001-02-03").date()],
        "household_id": pd.array([7, None, 9], dtype="Int64"),
        "updated_at": pd.to_datetime(["2025-01-01 08:00:00+08:00", "2025-06-01 00:00:00+00:00",
                                      "2025-12-31 23:59:59+00:00"], utc=True)})
    fast, slow = duckdb.connect(), duckdb.connect()
    load_frames(fast, connectors, {("public_security", "persons"): frame})
    events = [RawEvent("t", 0, i, json.dumps({"person_no": int(r["person_no"])}, separators=(",", ":")), "r", 0, i,
                       "direct", None, True, None, None, None, None, {k: pg_text(v) for k, v in r.items()})
              for i, r in enumerate(frame.to_dict("records"))]
    append_events(slow, "public_security", "persons", events)
    columns = "_key, _offset, person_no, id_number, birth_date, household_id, updated_at"
    query = f"select {columns} from raw.public_security__persons order by _offset"
    assert fast.execute(query).fetchall() == slow.execute(query).fetchall()
    assert fast.execute(query).fetchall()[0][-1] == "2025-01-01 00:00:00+00"
