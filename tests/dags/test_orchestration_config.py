"""Airflow connections, Airflow's metadata database and the dbt profile, rendered from Settings; the
dbt graph the build DAG is laid out from."""

from __future__ import annotations

import json
import subprocess
import sys

import yaml

from citydata.orchestration.config import airflow_connections, airflow_environment, dbt_profiles
from citydata.orchestration.dbt_graph import read_graph
from citydata.settings import PROJECT_ROOT, Settings, WarehouseSettings
from citydata.warehouse.engine import dbt_environment


def test_embedded_default_has_only_the_warehouse_connection_and_sqlite_metadata(tmp_path):
    settings = Settings(var_dir=tmp_path / "var")
    env = airflow_environment(settings)
    assert env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"] == f"sqlite:///{tmp_path / 'var' / 'airflow' / 'airflow.db'}"
    assert (tmp_path / "var" / "airflow").is_dir()
    assert env["AIRFLOW__CORE__DAGS_FOLDER"] == str(PROJECT_ROOT / "dags")
    conns = {k: json.loads(v) for k, v in airflow_connections(settings).items()}
    assert conns == {"AIRFLOW_CONN_CITYDATA_WAREHOUSE": {
        "conn_type": "duckdb", "host": str(settings.warehouse_path), "extra": {"path": str(settings.warehouse_path)}}}


def test_external_services_become_connections(tmp_path):
    settings = Settings(var_dir=tmp_path, kafka={"bootstrap_servers": "kafka:9092"},
                        postgres={"host": "departments-db", "port": 5432, "user": "citydata", "password": "s3cret"},
                        openmetadata={"url": "http://openmetadata-server:8585/api", "token": "jwt"})
    env = airflow_environment(settings, "postgresql+psycopg2://airflow:pw@airflow-db/airflow")
    assert env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"].startswith("postgresql+psycopg2://")
    conns = {k.removeprefix("AIRFLOW_CONN_"): json.loads(v) for k, v in env.items() if k.startswith("AIRFLOW_CONN_")}
    assert conns["CITYDATA_KAFKA"]["extra"]["bootstrap.servers"] == "kafka:9092"
    assert conns["CITYDATA_DEPARTMENTS"] == {"conn_type": "postgres", "host": "departments-db", "port": 5432,
                                            "login": "citydata", "password": "s3cret"}
    assert conns["CITYDATA_OPENMETADATA"]["host"] == "http://openmetadata-server:8585/api"


def test_env_command_prints_exports_a_shell_can_eval(tmp_path):
    env = {"PATH": "/usr/bin:/bin", "CITYDATA_VAR_DIR": str(tmp_path), "CITYDATA_KAFKA__BOOTSTRAP_SERVERS": "k:9092"}
    script = (f'eval "$({sys.executable} -m citydata.orchestration env --metadata-url sqlite:////tmp/x.db)" && '
              'echo "$AIRFLOW__DATABASE__SQL_ALCHEMY_CONN|$AIRFLOW_CONN_CITYDATA_KAFKA"')
    res = subprocess.run(["bash", "-c", script], capture_output=True, text=True, env=env, timeout=60, check=False)
    assert res.returncode == 0, res.stderr
    metadata, kafka = res.stdout.strip().split("|")
    assert metadata == "sqlite:////tmp/x.db" and json.loads(kafka)["extra"]["bootstrap.servers"] == "k:9092"


def test_dbt_profile_points_at_the_settings_warehouse_and_keeps_passwords_out(tmp_path):
    settings = Settings(var_dir=tmp_path)
    profile = yaml.safe_load(dbt_profiles(settings))["citydata"]
    assert profile["target"] == "duckdb"
    assert profile["outputs"]["duckdb"]["path"] == str(settings.warehouse_path.resolve())
    assert "env_var('CITYDATA_WAREHOUSE__PASSWORD'" in profile["outputs"]["postgres"]["password"]
    committed = yaml.safe_load((PROJECT_ROOT / "dbt_project" / "profiles.yml").read_text(encoding="utf-8"))
    assert set(profile["outputs"]) == set(committed["citydata"]["outputs"])


def test_a_postgres_warehouse_is_the_dbt_target_and_the_airflow_connection(tmp_path):
    settings = Settings(var_dir=tmp_path, warehouse={"engine": "postgres", "host": "warehouse-db", "port": 5432,
                                                     "user": "citydata", "password": "s3cret", "database": "warehouse"})
    profile = yaml.safe_load(dbt_profiles(settings))["citydata"]
    assert profile["target"] == "postgres"
    assert {k: profile["outputs"]["postgres"][k] for k in ("host", "port", "user", "dbname")} == {
        "host": "warehouse-db", "port": 5432, "user": "citydata", "dbname": "warehouse"}
    assert "s3cret" not in dbt_profiles(settings)
    conns = {k: json.loads(v) for k, v in airflow_connections(settings).items()}
    assert conns["AIRFLOW_CONN_CITYDATA_WAREHOUSE"] == {"conn_type": "postgres", "host": "warehouse-db", "port": 5432,
                                                        "login": "citydata", "schema": "warehouse",
                                                        "password": "s3cret"}
    # dbt's in-process runs get the same connection through the committed profile's variables
    env = dbt_environment(settings.warehouse, settings.warehouse_path)
    assert {k: env[f"CITYDATA_DBT_POSTGRES_{k}"] for k in ("HOST", "PORT", "USER", "PASSWORD", "DATABASE")} == {
        "HOST": "warehouse-db", "PORT": "5432", "USER": "citydata", "PASSWORD": "s3cret", "DATABASE": "warehouse"}
    committed = (PROJECT_ROOT / "dbt_project" / "profiles.yml").read_text(encoding="utf-8")
    assert all(f"env_var('{name}'" in committed for name in env if name.startswith("CITYDATA_DBT_POSTGRES_"))
    assert not any(k.startswith("CITYDATA_DBT_") for k in dbt_environment(WarehouseSettings(), tmp_path / "w"))


def test_graph_from_manifest_nodes_edges_and_cross_model_tests(tmp_path):
    def node(uid, kind, parents=(), fqn=None):
        return uid, {"name": uid.split(".")[-1], "resource_type": kind, "fqn": fqn or ["citydata", uid],
                     "depends_on": {"nodes": list(parents)}, "config": {"enabled": True}}

    nodes = dict([
        node("seed.citydata.codes", "seed"),
        node("model.citydata.stg_a", "model", fqn=["citydata", "staging", "a", "stg_a"]),
        node("model.citydata.persons", "model", ["model.citydata.stg_a", "seed.citydata.codes"],
             ["citydata", "marts", "population", "persons"]),
        node("test.citydata.unique_persons", "test", ["model.citydata.persons"]),
        node("test.citydata.relationships_persons_codes", "test", ["model.citydata.persons", "seed.citydata.codes"]),
    ])
    (tmp_path / "target").mkdir()
    (tmp_path / "target" / "manifest.json").write_text(json.dumps({"nodes": nodes}))
    graph = read_graph(tmp_path)
    assert list(graph.nodes) == ["seed.citydata.codes", "model.citydata.stg_a", "model.citydata.persons"]
    persons = graph.nodes["model.citydata.persons"]
    assert persons.group == "marts" and persons.upstream == ("model.citydata.stg_a", "seed.citydata.codes")
    assert graph.nodes["seed.citydata.codes"].group == "seeds"
    assert graph.cross_tests == ("relationships_persons_codes",)
    (tmp_path / "target" / "manifest.json").write_text("{not json")
    assert read_graph(tmp_path) is None
    assert read_graph(tmp_path / "missing") is None
