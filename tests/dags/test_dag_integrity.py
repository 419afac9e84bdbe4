"""Every DAG imports with no secrets set, and declares tags, an owner, retries and no catch-up; the
landing DAGs update the assets the build is scheduled on."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import pytest

from citydata.ingest.config import load_connectors
from citydata.settings import PROJECT_ROOT

SCRIPT = textwrap.dedent(f"""
    import json
    from airflow.dag_processing.dagbag import DagBag
    bag = DagBag(dag_folder={str(PROJECT_ROOT / 'dags')!r})
    def uris(objs):
        return sorted(getattr(o, "uri", str(o)) for o in objs)
    def condition(tt):  # the assets an asset-scheduled DAG waits for, and how (any / all)
        c = getattr(tt, "asset_condition", None)
        return None if c is None else [type(c).__name__, uris(c.objects)]
    print(json.dumps({{"errors": {{k: str(v)[:300] for k, v in bag.import_errors.items()}},
                      "dags": {{d.dag_id: {{"tags": sorted(d.tags), "owner": d.owner,
                                "retries": [t.retries for t in d.tasks], "tasks": [t.task_id for t in d.tasks],
                                "outlets": uris(o for t in d.tasks for o in t.outlets),
                                "schedule_assets": condition(d.timetable),
                                "catchup": d.catchup, "doc": bool(d.doc_md)}}
                               for d in bag.dags.values()}}}}))
""")


def _dagbag(tmp_path, **env_extra) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CITYDATA_", "AIRFLOW"))}
    env.update({"AIRFLOW_HOME": str(tmp_path), "AIRFLOW__CORE__LOAD_EXAMPLES": "False"}, **env_extra)
    res = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True, env=env,
                         timeout=300, check=False)
    assert res.returncode == 0, res.stderr[-2000:]
    return json.loads(res.stdout.strip().splitlines()[-1])


@pytest.fixture(scope="module")
def bag(tmp_path_factory) -> dict:
    return _dagbag(tmp_path_factory.mktemp("airflow_home"))


def test_dags_import_with_tags_owner_retries(bag):
    assert bag["errors"] == {}
    for dag_id, d in bag["dags"].items():
        assert d["tags"], dag_id
        assert d["owner"] and d["owner"] != "airflow", dag_id
        assert all(r >= 1 for r in d["retries"]), dag_id
        assert d["catchup"] is False and d["doc"], dag_id


def test_one_landing_and_one_report_dag_per_source_owned_by_its_department(bag):
    connectors = load_connectors(PROJECT_ROOT / "connectors")
    dags = bag["dags"]
    assert {"citydata_publish", "citydata_catalog_sync"} <= set(dags)
    for c in connectors:
        land = dags[f"citydata_land_{c.name}"]
        assert land["owner"] == c.department.code and c.department.code in land["tags"]
        assert land["outlets"] == [f"citydata://raw/{c.name}"]
        report = dags[f"citydata_report_{c.department.code}"]
        assert report["owner"] == c.department.code and set(report["tasks"]) == {"scorecard", "conflicts"}


def test_assets_chain_landing_to_build_to_catalog_sync(bag):
    dags = bag["dags"]
    landed = sorted(u for d in dags.values() if d["owner"] != "data_bureau" for u in d["outlets"])
    assert dags["citydata_publish"]["schedule_assets"] == ["AssetAny", landed]  # any landing triggers a build
    assert dags["citydata_publish"]["outlets"] == ["citydata://published/base_libraries"]
    assert dags["citydata_catalog_sync"]["schedule_assets"][1] == ["citydata://published/base_libraries"]


def test_without_a_manifest_the_build_is_one_task(tmp_path):
    """A fresh checkout has no dbt manifest: the DAG still imports (no `dbt parse` at parse time) and
    builds the whole project in one task."""
    empty = tmp_path / "dbt_project"
    empty.mkdir()
    bag = _dagbag(tmp_path, CITYDATA_DBT_PROJECT_DIR=str(empty))
    assert bag["errors"] == {}
    assert bag["dags"]["citydata_publish"]["tasks"] == ["build_all", "gate_and_publish", "snapshot_catalog"]
