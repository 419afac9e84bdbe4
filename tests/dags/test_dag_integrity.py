"""Every DAG imports with no secrets set, and declares tags, an owner and retries."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

from citydata.settings import PROJECT_ROOT


def test_dags_import_with_tags_owner_retries(tmp_path):
    script = textwrap.dedent(f"""
        import json
        from airflow.dag_processing.dagbag import DagBag
        bag = DagBag(dag_folder={str(PROJECT_ROOT / 'dags')!r})
        print(json.dumps({{"errors": {{k: str(v)[:300] for k, v in bag.import_errors.items()}},
                          "dags": {{d.dag_id: {{"tags": sorted(d.tags), "owner": d.owner,
                                    "retries": [t.retries for t in d.tasks],
                                    "catchup": d.catchup, "doc": bool(d.doc_md)}}
                                   for d in bag.dags.values()}}}}))
    """)
    env = {k: v for k, v in os.environ.items() if not k.startswith("CITYDATA_")}
    env.update({"AIRFLOW_HOME": str(tmp_path), "AIRFLOW__CORE__LOAD_EXAMPLES": "False"})
    res = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env,
                         timeout=300, check=False)
    assert res.returncode == 0, res.stderr[-2000:]
    import json

    out = json.loads(res.stdout.strip().splitlines()[-1])
    assert out["errors"] == {}
    assert "citydata_publish" in out["dags"]
    for dag_id, d in out["dags"].items():
        assert d["tags"], dag_id
        assert d["owner"] and d["owner"] != "airflow", dag_id
        assert all(r >= 1 for r in d["retries"]), dag_id
        assert d["catchup"] is False and d["doc"], dag_id
