"""`citydata gate` as Airflow and CI run it: a table on stdout, JSON on disk, exit 0 on pass and 1 on a
blocking failure (a warning alone does not block)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import duckdb

from citydata.settings import PROJECT_ROOT

SUITE = """\
name: marts
layer: marts
tables:
  population.persons:
  - expectation: expect_column_values_to_be_unique
    kwargs: {column: person_id}
    department: public_security
  - expectation: expect_column_values_to_not_be_null
    kwargs: {column: name}
    severity: warn
    department: public_security
"""


def _gate(tmp_path, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "CITYDATA_VAR_DIR": str(tmp_path / "var"),
           "CITYDATA_EXPECTATIONS_DIR": str(tmp_path / "expectations"), "COLUMNS": "200"}
    return subprocess.run([sys.executable, "-m", "citydata.cli", "gate", "--layer", "marts", *args],
                          capture_output=True, text=True, env=env, timeout=300, cwd=PROJECT_ROOT)


def test_gate_command_exits_by_verdict_prints_a_table_and_writes_json(tmp_path):
    (tmp_path / "expectations").mkdir()
    (tmp_path / "expectations" / "marts.yaml").write_text(SUITE)
    (tmp_path / "var").mkdir()
    con = duckdb.connect(str(tmp_path / "var" / "warehouse.duckdb"))
    con.execute("create schema population; create table population.persons as select * from (values "
                "('110101199001011234', 'a'), ('110101199001011235', null)) t(person_id, name)")
    con.close()

    passed = _gate(tmp_path, "--out", str(tmp_path / "passed.json"))
    assert passed.returncode == 0, passed.stderr
    assert "Traceback" not in passed.stdout + passed.stderr
    assert "population.persons" in passed.stdout and "passed: 0 blocking failure(s)" in passed.stdout
    recorded = json.loads((tmp_path / "passed.json").read_text())
    assert recorded["passed"] is True
    warned = [e for e in recorded["tables"]["population.persons"]["expectations"] if not e["success"]]
    assert [(e["expectation"], e["severity"], e["unexpected_count"]) for e in warned] == [
        ("expect_column_values_to_not_be_null", "warn", 1)]

    con = duckdb.connect(str(tmp_path / "var" / "warehouse.duckdb"))
    con.execute("insert into population.persons values ('110101199001011234', 'b')")
    con.close()
    blocked = _gate(tmp_path)
    assert blocked.returncode == 1, blocked.stderr
    assert "Traceback" not in blocked.stdout + blocked.stderr
    assert "BLOCKED: 1 blocking failure(s)" in blocked.stdout
    recorded = json.loads((tmp_path / "var" / "gate.json").read_text())  # the settings' gate.json
    assert recorded["passed"] is False


def test_gate_command_with_an_unknown_expectation_says_so_in_one_line(tmp_path):
    (tmp_path / "expectations").mkdir()
    (tmp_path / "expectations" / "marts.yaml").write_text(SUITE.replace("to_be_unique", "to_be_unicorns"))
    (tmp_path / "var").mkdir()
    con = duckdb.connect(str(tmp_path / "var" / "warehouse.duckdb"))
    con.execute("create schema population; create table population.persons as select '1' as person_id, 'a' as name")
    con.close()
    failed = _gate(tmp_path)
    assert failed.returncode not in (0, 1)  # neither pass nor a verdict: the suite is wrong
    assert "Traceback" not in failed.stdout + failed.stderr
    lines = [line for line in failed.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "expect_column_values_to_be_unicorns" in lines[0], failed.stderr
