"""``airflow dags test citydata_publish`` at small scale: Airflow (SQLite metadata, migrated in a temp
AIRFLOW_HOME) runs every dbt node as its own task, the gate and publish, and the catalog snapshot on a
synthetic city landed straight into a temp warehouse; the published base libraries hold what
``citydata demo`` publishes for the same city (its ground truth)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pytest

from citydata.orchestration.config import airflow_environment
from citydata.settings import PROJECT_ROOT, Settings
from citydata.synth import generate
from citydata.warehouse.direct import load_frames

PERSONS = 300
BIN = Path(sys.executable).parent


def _run(args: list[str], env: dict[str, str], timeout: float) -> subprocess.CompletedProcess:
    res = subprocess.run(args, env=env, capture_output=True, text=True, timeout=timeout, check=False)
    assert res.returncode == 0, f"{' '.join(args[:3])} failed:\n{res.stdout[-3000:]}\n{res.stderr[-3000:]}"
    return res


@pytest.fixture(scope="module")
def dag_run(tmp_path_factory, connectors):
    tmp = tmp_path_factory.mktemp("airflow")
    project = tmp / "dbt_project"  # a copy: this run's target/ and logs/ stay out of the working tree
    shutil.copytree(PROJECT_ROOT / "dbt_project", project, ignore=shutil.ignore_patterns("target", "logs"))
    settings = Settings(var_dir=tmp / "var", dbt_project_dir=project)
    settings.var_dir.mkdir()
    city = generate(PERSONS, 11)
    con = duckdb.connect(str(settings.warehouse_path))
    try:
        load_frames(con, connectors, city.final_tables())
    finally:
        con.close()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CITYDATA_", "AIRFLOW"))}
    env.update(airflow_environment(settings), AIRFLOW_HOME=str(tmp / "airflow_home"),
               CITYDATA_VAR_DIR=str(settings.var_dir), CITYDATA_DBT_PROJECT_DIR=str(project),
               CITYDATA_WAREHOUSE_PATH=str(settings.warehouse_path))
    seconds = {}
    started = time.perf_counter()
    _run([str(BIN / "dbt"), "parse", "--project-dir", str(project), "--profiles-dir", str(project), "--quiet"],
         env, 300)  # the manifest the DAG reads at parse time to lay out one task per node
    seconds["dbt parse"] = time.perf_counter() - started
    started = time.perf_counter()
    _run([str(BIN / "airflow"), "db", "migrate"], env, 300)
    seconds["db migrate"] = time.perf_counter() - started
    started = time.perf_counter()
    res = _run([str(BIN / "airflow"), "dags", "test", "citydata_publish", "2026-03-01T00:00:00+00:00"], env, 600)
    seconds["dags test"] = time.perf_counter() - started
    print({k: round(v, 1) for k, v in seconds.items()})
    return settings, city, res.stdout + res.stderr


def _states(settings: Settings) -> dict[str, str]:
    import sqlite3

    db = sqlite3.connect(settings.var_dir / "airflow" / "airflow.db")
    try:
        return dict(db.execute("select task_id, state from task_instance where dag_id = 'citydata_publish'").fetchall())
    finally:
        db.close()


def test_every_dbt_node_ran_as_its_own_successful_task(dag_run):
    settings, _, log = dag_run
    states = _states(settings)
    from citydata.orchestration.dbt_graph import read_graph

    graph = read_graph(settings.dbt_project_dir)
    assert graph is not None and len(graph.nodes) > 30
    node_tasks = {t: s for t, s in states.items() if t.startswith("dbt.") and t != "dbt.cross_model_tests"}
    assert {t.rsplit(".", 1)[1] for t in node_tasks} == {n.name for n in graph.nodes.values()}
    assert set(states.values()) == {"success"}, {t: s for t, s in states.items() if s != "success"}
    assert {"dbt.cross_model_tests", "gate_and_publish", "snapshot_catalog"} <= set(states)


def test_published_base_libraries_match_the_demo_counts(dag_run):
    settings, city, _ = dag_run
    expected = city.expected
    con = duckdb.connect(str(settings.warehouse_path), read_only=True)
    try:
        def rows(table: str) -> int:
            return con.execute(f"select count(*) from {table}").fetchone()[0]

        assert rows("population.persons") == expected["population_persons"]
        assert rows("legal_entity.legal_entities") == expected["legal_entities"]
        assert rows("credit.credit_profiles") == expected["credit_subjects"]
        assert rows("credit.credit_records") > 0
        for library in ("persons", "legal_entities", "credit_profiles", "credit_records"):
            built = next(t for t in ("population", "legal_entity", "credit") if con.execute(
                "select count(*) from information_schema.tables where table_schema = ? and table_name = ?",
                [t, library]).fetchone()[0])
            assert rows(f"published.{library}") == rows(f"{built}.{library}"), library
        runs = con.execute("select count(*), bool_and(passed) from quality.gate_runs").fetchone()
    finally:
        con.close()
    assert runs == (1, True)
    catalog = json.loads(settings.catalog_path.read_text(encoding="utf-8"))
    assert any(t["name"] == "persons" for t in catalog["tables"])


def test_department_reports_and_catalog_sync_on_the_published_run(dag_run):
    """What the daily report DAGs and the catalog sync DAG run, on the warehouse the pipeline left."""
    from citydata.orchestration.reports import conflict_report, scorecard_report
    from citydata.orchestration.steps import sync_catalog

    settings, _, _ = dag_run
    card = scorecard_report(settings, "hrss", "2026-03-01")
    summary = json.loads(Path(card["path"]).read_text(encoding="utf-8"))["summary"]
    assert card["datasets"] > 0 and summary["department"] == "hrss" and summary["rows"] > 0
    assert 0.5 < summary["completeness"] <= 1 and 0.5 < summary["validity"] <= 1
    assert scorecard_report(settings, "hrss", "2026-02-28")["datasets"] == 0  # no gate run yet that day
    con = duckdb.connect(str(settings.warehouse_path), read_only=True)
    try:
        open_total = con.execute("select count(*) from governance.conflicts where is_open").fetchone()[0]
    finally:
        con.close()
    departments = ("public_security", "civil_affairs", "health", "hrss", "market_regulation", "tax", "ndrc", "court")
    reports = [conflict_report(settings, d, "2026-03-01") for d in departments]
    assert open_total > 0 and sum(r["open"] for r in reports) == open_total
    om = sync_catalog(settings)
    assert om["mode"] == "dry-run" and om["requests"] > 100
