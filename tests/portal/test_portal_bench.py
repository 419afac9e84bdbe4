"""bench/portal at a tiny load against the test session's demo run, so its code cannot rot: every
endpoint answered without errors, ratios against the static ceiling, the target judged."""

from __future__ import annotations

import importlib
import json
import sys
from pathlib import Path

from citydata.settings import PROJECT_ROOT


def test_portal_bench_records_latency_and_ratios(demo_var: Path, tmp_path: Path) -> None:
    if str(PROJECT_ROOT) not in sys.path:
        sys.path.insert(0, str(PROJECT_ROOT))
    bench = importlib.import_module("bench.portal")
    out = tmp_path / "portal.json"
    before = sorted(p.name for p in (demo_var / "portal").iterdir())
    bench.main(["--var", str(demo_var), "--clients", "4", "--requests", "20", "--seconds", "1", "--workers", "1",
                "--out", str(out)])
    result = json.loads(out.read_text())
    assert result["server_workers"] == 1 and result["load_generator"] in ("wrk", "httpx")
    endpoints = result["endpoints"]
    assert set(endpoints) == {"static", "search", "dataset_page", "data_api", "ckan_package_search",
                              "data_api_audited"}
    for name, r in endpoints.items():
        assert r["requests"] > 0 and not r["errors"], (name, r)
        assert 0 < r["p50_ms"] <= r["p95_ms"] <= r["p99_ms"], (name, r)
        if name != "static":
            assert r["rps_vs_static"] == round(r["rps"] / endpoints["static"]["rps"], 3)
            assert r["meets_p95_target"] == (r["p95_ms"] <= result["target_p95_ms"])
    assert result["all_meet_target"] == all(r.get("meets_p95_target", True) for r in endpoints.values())
    assert sorted(p.name for p in (demo_var / "portal").iterdir()) == before  # the run's files were copied
