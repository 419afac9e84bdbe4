"""
### citydata — build, gate, publish (the main pipeline)

Runs whenever a landing brought new changes (any `citydata://raw/<source>` asset), or by hand.

1. **dbt**, one task per seed, snapshot and model (`dbt build --select <node>`, with the tests that read
   only that node), in the manifest's dependency order, grouped by layer; then the tests that read
   several nodes. Without `dbt_project/target/manifest.json` (a fresh checkout) the whole project is
   built in one task, which leaves the manifest, and the next parse shows the per-node tasks.
2. **gate + publish** (write–audit–publish): the Great Expectations suites in `expectations/` audit raw,
   staging and marts; only if no blocking expectation failed are the marts swapped into `published`.
   A blocking failure fails the task without retries — the last good version keeps serving.
3. **catalog snapshot**: `catalog.json` for the portal; updates `citydata://published/base_libraries`,
   which schedules the OpenMetadata sync (`citydata_catalog_sync`).

Tasks run one at a time (`max_active_tasks=1`): every dbt invocation writes the project's one `target/`
directory, and a DuckDB warehouse admits one writing process. The warehouse is the one Settings choose
(`CITYDATA_WAREHOUSE__ENGINE`: the DuckDB file, or PostgreSQL — docker-compose's `warehouse-db`).
Declarations only: the logic is `citydata.orchestration.steps`.
"""

from __future__ import annotations

from collections import defaultdict

from airflow.sdk import Asset, AssetAny, TaskGroup, dag, get_current_context, task

from citydata.orchestration.dag_support import BUREAU, PUBLISHED_URI, START, default_args, raw_asset_uri, sources
from citydata.orchestration.dbt_graph import read_graph
from citydata.settings import Settings

GRAPH = read_graph(Settings().dbt_project_dir)


def _settings_and_run_at():
    from citydata.orchestration.dag_support import run_at

    return Settings(), run_at(get_current_context())


@task
def build_node(name: str) -> dict:
    from citydata.orchestration.steps import build_node as build

    settings, run_at = _settings_and_run_at()
    return build(settings, name, run_at)


@task
def build_cross_tests(tests: list[str]) -> dict:
    from citydata.orchestration.steps import build_cross_tests as build

    settings, run_at = _settings_and_run_at()
    return build(settings, tests, run_at)


@task
def build_all() -> dict:
    from citydata.orchestration.steps import build_all as build

    return build(*_settings_and_run_at())


@task
def gate_and_publish() -> dict:
    from airflow.exceptions import AirflowFailException

    from citydata.orchestration.steps import gate_and_publish as gate

    gated = gate(*_settings_and_run_at())
    if not gated["passed"]:
        raise AirflowFailException("gate blocked publication (last good version kept): " + "; ".join(gated["failures"]))
    return gated


@task(outlets=[Asset(PUBLISHED_URI)])
def snapshot_catalog(gated: dict) -> int:
    from citydata.orchestration.steps import snapshot_catalog as snapshot

    return snapshot(Settings(), gated)


def dbt_tasks():
    """The dbt build as tasks; returns what the gate waits for."""
    if GRAPH is None:
        return build_all()
    with TaskGroup("dbt", tooltip="one task per seed, snapshot and model"):
        layers = defaultdict(list)
        for node in GRAPH.nodes.values():
            layers[node.group].append(node)
        tasks = {}
        for layer, nodes in layers.items():
            with TaskGroup(layer):
                for node in nodes:
                    tasks[node.unique_id] = build_node.override(task_id=node.name)(node.name)
        for uid, node in GRAPH.nodes.items():
            for upstream in node.upstream:
                tasks[upstream] >> tasks[uid]
        cross = build_cross_tests.override(task_id="cross_model_tests")(list(GRAPH.cross_tests))
        list(tasks.values()) >> cross
    return cross


@dag(
    dag_id="citydata_publish",
    schedule=AssetAny(*(Asset(raw_asset_uri(source)) for source, _ in sources())),
    start_date=START,
    catchup=False,
    max_active_runs=1,
    max_active_tasks=1,
    doc_md=__doc__,
    tags=["citydata", "base-libraries", "dbt", "quality"],
    default_args=default_args(BUREAU),
)
def citydata_publish():
    built = dbt_tasks()
    gated = gate_and_publish()
    built >> gated
    snapshot_catalog(gated)


citydata_publish()
