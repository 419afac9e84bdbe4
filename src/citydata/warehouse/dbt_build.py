"""Build the base libraries: run ``dbt build`` (seeds, models, tests, unit tests) in-process.

dbt reads its profile from the committed ``dbt_project/profiles.yml``, and the warehouse from
``CITYDATA_WAREHOUSE_PATH`` (DuckDB) or ``CITYDATA_DBT_POSTGRES_*`` (PostgreSQL), which this module fills
from Settings' warehouse (``warehouse/engine.py``) for the duration of one invocation only, and
sends dbt's ``target/`` and ``logs/`` under the project directory (both git-ignored). Close your own
DuckDB connection to the warehouse before calling :func:`build`: DuckDB lets one process write a file.

A failing model or test raises :class:`CityDataError` with one line naming the node, the first line
of dbt's message and where the full log is.

Unit tests check the SQL on fixed rows, not the data: a whole-project build runs them unless the same
warehouse was last built, every unit test passing, from the same project files, target and vars other
than run_at / reference_date (the fingerprint is kept in ``target/unit_tests_passed.json``).
Incremental runs on unchanged code so skip them; any edit of a model, macro or seed brings them back.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path

from citydata.errors import CityDataError
from citydata.settings import Settings, WarehouseSettings

_FAILED = {"error", "fail", "runtime error"}
_BUILT = {"table", "seed", "incremental"}


@dataclass(frozen=True)
class NodeResult:
    """What happened to one dbt node (seed, model, data test, unit test)."""

    name: str
    resource_type: str
    status: str
    seconds: float
    rows: int | None = None
    relation: str | None = None
    message: str | None = None


@dataclass(frozen=True)
class DbtBuildResult:
    """The outcome of a successful ``dbt build``."""

    nodes: list[NodeResult]
    seconds: float
    manifest_path: Path
    run_results_path: Path
    log_path: Path
    counts: dict[str, int] = field(default_factory=dict)

    def node(self, name: str) -> NodeResult:
        for n in self.nodes:
            if n.name == name:
                return n
        raise KeyError(name)

    def rows(self, name: str) -> int | None:
        return self.node(name).rows

    @property
    def warnings(self) -> list[NodeResult]:
        return [n for n in self.nodes if n.status == "warn"]


@contextlib.contextmanager
def _environment(values: Mapping[str, str]) -> Iterator[None]:
    saved = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def _first_line(text: object) -> str:
    """The first informative line of a dbt message.

    dbt's errors start with a heading ("Compilation Error in model x (path)") that only repeats
    the node; the line after it says what is wrong, so the two are joined.
    """
    lines = [line.strip() for line in str(text or "").splitlines() if line.strip()]
    if not lines:
        return "no message"
    heading = re.match(r"^(\w+ Error)( in \w+ \S+( \(.*\))?)?$", lines[0])
    if heading and len(lines) > 1:
        return f"{heading.group(1)}: {lines[1]}"
    return lines[0]


def _shown(path: Path) -> str:
    """The log path relative to the working directory when it is inside it (shorter messages)."""
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def _release_duckdb() -> None:
    """Close the DuckDB database dbt-duckdb keeps open in this process after a run.

    dbt-duckdb holds one database instance per process (a class attribute) and does not always
    close it when an in-process invocation ends; left open, it keeps the warehouse file locked
    against other processes and against read-only connections from this one.
    """
    try:
        from dbt.adapters.duckdb.connections import DuckDBConnectionManager
    except ImportError:  # dbt-duckdb not installed: nothing to release
        return
    with DuckDBConnectionManager._LOCK:
        env = DuckDBConnectionManager._ENV
        DuckDBConnectionManager._ENV = None
    if env is not None:
        env.close()


def _file_log_level() -> str:
    """dbt.log's level: ``info`` (each node's start, end and errors), or dbt's own ``DBT_LOG_LEVEL_FILE``
    (``debug`` adds every SQL statement, at ~10 ms per node: ~2 s of a 1M incremental build)."""
    return os.environ.get("DBT_LOG_LEVEL_FILE") or "info"


def _invoke(command: list[str], project_dir: Path, warehouse_path: Path, target: str,
            vars: Mapping[str, object] | None, warehouse: WarehouseSettings | None = None):
    """Run one dbt command in this process; returns (dbtRunnerResult, log path). The profile's connection
    comes from ``warehouse`` (default: Settings' warehouse)."""
    from dbt.cli.main import dbtRunner  # heavy import, only when dbt runs

    from citydata.warehouse.engine import dbt_environment

    project_dir = project_dir.resolve()
    if not (project_dir / "dbt_project.yml").is_file():
        raise CityDataError(f"no dbt project at {project_dir}: point dbt_project_dir at the folder "
                            "holding dbt_project.yml")
    log_dir = project_dir / "logs"
    args = [*command, "--project-dir", str(project_dir), "--profiles-dir", str(project_dir),
            "--target", target, "--target-path", str(project_dir / "target"),
            "--log-path", str(log_dir), "--quiet", "--log-level", "none", "--log-level-file", _file_log_level(),
            "--no-use-colors", "--no-send-anonymous-usage-stats", "--no-version-check"]
    if vars:
        args += ["--vars", json.dumps(dict(vars), default=str)]
    env = {**dbt_environment(warehouse or Settings().warehouse, warehouse_path),
           "DBT_PROFILES_DIR": str(project_dir),
           "DBT_SEND_ANONYMOUS_USAGE_STATS": "false"}
    with _environment(env):
        try:
            result = dbtRunner().invoke(args)
        finally:
            _release_duckdb()
    return result, log_dir / "dbt.log"


def _relation_rows(warehouse_path: Path, relations: dict[str, str]) -> dict[str, int]:
    """Row counts of built tables and seeds (DuckDB only; views are not counted)."""
    if not relations:
        return {}
    import duckdb

    counts: dict[str, int] = {}
    con = duckdb.connect(str(warehouse_path))
    try:
        for name, relation in relations.items():
            counts[name] = con.execute(f"select count(*) from {relation}").fetchall()[0][0]
    finally:
        con.close()
    return counts


def _node_result(run_result) -> NodeResult:
    node = run_result.node
    affected = (getattr(run_result, "adapter_response", None) or {}).get("rows_affected")
    return NodeResult(
        name=node.name, resource_type=str(node.resource_type),
        status=str(getattr(run_result.status, "value", run_result.status)),
        seconds=round(run_result.execution_time or 0.0, 3),
        rows=affected if isinstance(affected, int) and affected >= 0 else None,
        relation=getattr(node, "relation_name", None),
        message=None if run_result.message is None else str(run_result.message))


_PROJECT_FILES = ("dbt_project.yml", "profiles.yml", "packages.yml", "models", "macros", "seeds", "snapshots",
                  "tests", "analyses")
# Vars that say which run this is; the unit tests that depend on the day set it themselves.
_RUN_VARS = {"run_at", "reference_date"}


def code_fingerprint(project_dir: Path, target: str, vars: Mapping[str, object] | None) -> str:
    """A hash of what decides unit-test outcomes: the project's files, the target, dbt's version and the
    vars other than those naming the run."""
    from dbt.version import __version__ as dbt_version

    settings = {k: v for k, v in (vars or {}).items() if k not in _RUN_VARS}
    digest = hashlib.sha256(json.dumps([target, dbt_version, settings], sort_keys=True, default=str).encode())
    root = project_dir.resolve()
    for name in _PROJECT_FILES:
        entry = root / name
        files = sorted(p for p in entry.rglob("*") if p.is_file()) if entry.is_dir() else [entry]
        for path in (f for f in files if f.is_file()):
            digest.update(str(path.relative_to(root)).encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()


def _unit_tests_state(project_dir: Path) -> Path:
    return project_dir.resolve() / "target" / "unit_tests_passed.json"


def _passed_fingerprint(project_dir: Path, warehouse_path: Path) -> str | None:
    try:
        state = json.loads(_unit_tests_state(project_dir).read_text())
    except (OSError, ValueError):
        return None
    return state.get(str(warehouse_path.resolve())) if isinstance(state, dict) else None


def _record_passed(project_dir: Path, warehouse_path: Path, fingerprint: str) -> None:
    path = _unit_tests_state(project_dir)
    try:
        state = json.loads(path.read_text())
    except (OSError, ValueError):
        state = {}
    state[str(warehouse_path.resolve())] = fingerprint
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(state, indent=1))


def build(project_dir: Path, warehouse_path: Path, select: str | None = None,
          target: str | None = None, vars: Mapping[str, object] | None = None,
          unit_tests: bool | None = None, full_refresh: bool = False,
          warehouse: WarehouseSettings | None = None) -> DbtBuildResult:
    """Run ``dbt build`` (optionally ``--select``, ``--vars``, ``--full-refresh``) and return per-node results.

    ``unit_tests``: True runs them, False skips them, None (default) skips them only when a build of the
    whole project already passed them on this warehouse with the same code, target and vars (run_at and
    reference_date aside).
    ``target`` defaults to the engine of ``warehouse`` (default: Settings' warehouse), which also gives
    the PostgreSQL target its connection.
    Raises CityDataError on the first failing node, or if dbt cannot parse or connect.
    """
    started = time.perf_counter()
    warehouse = warehouse or Settings().warehouse
    target = target or warehouse.engine
    fingerprint = code_fingerprint(project_dir, target, vars) if select is None else None
    if unit_tests is None:
        unit_tests = fingerprint is None or _passed_fingerprint(project_dir, warehouse_path) != fingerprint
    command = (["build"] + (["--select", select] if select else []) + (["--full-refresh"] if full_refresh else [])
               + ([] if unit_tests else ["--exclude", "resource_type:unit_test"]))
    result, log_path = _invoke(command, project_dir, warehouse_path, target, vars, warehouse)
    shown_log = _shown(log_path)
    if result.exception is not None and result.result is None:
        raise CityDataError(f"dbt could not build the project: {_first_line(result.exception)} — fix it "
                            f"and rerun; see {shown_log}")
    nodes: list[NodeResult] = []
    built: dict[str, str] = {}
    for run_result in result.result.results:
        node = _node_result(run_result)
        if node.status in _FAILED:
            raise CityDataError(f"dbt {node.resource_type} {node.name} failed: {_first_line(node.message)}"
                                f" — see {shown_log}")
        if node.status == "success" and node.relation and run_result.node.config.materialized in _BUILT:
            built[node.name] = node.relation
        nodes.append(node)
    if not result.success:
        raise CityDataError(f"dbt build failed: {_first_line(result.exception)} — see {shown_log}")
    if fingerprint is not None and unit_tests:
        _record_passed(project_dir, warehouse_path, fingerprint)
    if target == "duckdb":  # dbt-duckdb reports no row counts: count the built tables
        rows = _relation_rows(warehouse_path, built)
        nodes = [replace(n, rows=rows.get(n.name, n.rows)) for n in nodes]
    counts: dict[str, int] = {}
    for n in nodes:
        counts[n.status] = counts.get(n.status, 0) + 1
    target_dir = project_dir.resolve() / "target"
    return DbtBuildResult(nodes=nodes, seconds=round(time.perf_counter() - started, 3),
                          manifest_path=target_dir / "manifest.json",
                          run_results_path=target_dir / "run_results.json",
                          log_path=log_path, counts=counts)


def compile_inline(project_dir: Path, warehouse_path: Path, sql: str, target: str = "duckdb",
                   vars: Mapping[str, object] | None = None) -> str:
    """Compile a SQL snippet that may call the project's macros and refs; returns the SQL text."""
    result, log_path = _invoke(["compile", "--inline", sql], project_dir, warehouse_path, target, vars)
    if not result.success or result.result is None:
        raise CityDataError(f"dbt compile failed: {_first_line(result.exception)} — see {_shown(log_path)}")
    return result.result.results[0].node.compiled_code
