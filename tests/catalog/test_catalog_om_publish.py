"""Publishing with openmetadata-ingestion's client against a stand-in OpenMetadata server
(om_server.py): the recorded requests, idempotence, soft deletes, retries, resuming, dry runs."""

from __future__ import annotations

import copy
import json
import socket
import sys
from pathlib import Path
from typing import Any

import pytest
from om_server import FakeOpenMetadata, Recorded

from citydata.catalog import write_catalog
from citydata.catalog.om_publish import Publisher, api_url, publish_catalog
from citydata.catalog.om_requests import OMRequest, build_requests
from citydata.errors import CityDataError
from citydata.settings import Settings

STG = "warehouse.citydata.staging.stg_civil_affairs__deaths"
MART = "warehouse.citydata.marts.population_persons"


def om_settings(var_dir: Path, url: str | None, **openmetadata: Any) -> Settings:
    """Settings for publishing to ``url``: fast retries so failing tests stay quick."""
    return Settings(var_dir=var_dir, openmetadata={"url": url, "token": "test-token", "retries": 2,
                                                   "backoff_seconds": 0.01, **openmetadata})


def _strip_none(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _strip_none(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_strip_none(v) for v in value]
    return value


def _with_server_ids(body: Any, server: FakeOpenMetadata) -> Any:
    """The planned body with the server's ids in its entity references."""
    if isinstance(body, dict):
        body = {k: _with_server_ids(v, server) for k, v in body.items()}
        if {"id", "type", "fullyQualifiedName"} <= body.keys():
            body["id"] = server.entities[body["type"]][body["fullyQualifiedName"]]["id"]
        return body
    if isinstance(body, list):
        return [_with_server_ids(v, server) for v in body]
    return body


def _assert_sent_as_planned(writes: list[Recorded], requests: list[OMRequest], server: FakeOpenMetadata) -> None:
    assert [(w.method, w.path) for w in writes] == [(r.method, r.path) for r in requests]
    for w, r in zip(writes, requests):
        type(r.model).model_validate(w.body)  # what went over the wire is a valid generated model
        assert _strip_none(w.body) == _with_server_ids(r.body(), server), r.key


def _id_to_fqn(server: FakeOpenMetadata) -> dict[str, str]:
    return {e["id"]: fqn for items in server.entities.values() for fqn, e in items.items()}


def _without(catalog: dict, fqn: str) -> dict:
    """The catalog after a table disappeared (with its lineage edges)."""
    out = copy.deepcopy(catalog)
    out["tables"] = [t for t in out["tables"] if t["fullyQualifiedName"] != fqn]
    out["lineage"]["edges"] = [e for e in out["lineage"]["edges"]
                               if fqn not in (e["fromEntity"]["fullyQualifiedName"], e["toEntity"]["fullyQualifiedName"])]
    return out


def _dead_url() -> str:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}/api"


def test_first_publish_sends_every_request_in_order(catalog: dict, om_server: FakeOpenMetadata,
                                                    tmp_path: Path) -> None:
    requests = build_requests(catalog)
    summary = publish_catalog(om_settings(tmp_path, om_server.url), catalog)
    assert summary["mode"] == "published" and summary["sent"] == len(requests) and summary["deleted"] == []
    first = om_server.recorded[0]
    assert (first.method, first.path) == ("GET", "/system/version")  # the client's start-up check
    _assert_sent_as_planned(om_server.writes(), requests, om_server)

    # what the server now holds: owners are the departments' teams, lineage has columns, results are in
    team_id = {name: t["id"] for name, t in om_server.entities["team"].items()}
    for table in catalog["tables"]:
        held = om_server.entities["table"][table["fullyQualifiedName"]]
        assert [o["id"] for o in held["owners"]] == [team_id[o["name"]] for o in table["owners"]]
    assert om_server.entities["table"][MART]["owners"][0]["id"] == team_id["data_bureau"]
    names = _id_to_fqn(om_server)
    held_edges = {(names[a], names[b]): d for (a, b), d in om_server.lineage.items()}
    assert set(held_edges) == {(e["fromEntity"]["fullyQualifiedName"], e["toEntity"]["fullyQualifiedName"])
                               for e in catalog["lineage"]["edges"]}
    assert sum(len(d.get("columnsLineage") or []) for d in held_edges.values()) > 200
    assert len(om_server.results) == sum(len(t["extension"].get("gate", {}).get("expectations", []))
                                         for t in catalog["tables"])


def test_republishing_is_idempotent(catalog: dict, om_server: FakeOpenMetadata, tmp_path: Path) -> None:
    settings = om_settings(tmp_path, om_server.url)
    publish_catalog(settings, catalog)
    first = om_server.writes()
    before = om_server.snapshot()
    summary = publish_catalog(settings, catalog)
    second = om_server.writes()[len(first):]
    assert summary["sent"] == len(first) and summary["skipped"] == 0 and summary["deleted"] == []
    assert [(w.method, w.path, w.body) for w in second] == [(w.method, w.path, w.body) for w in first]
    assert om_server.snapshot() == before  # no entity changed version, no edge or result added


def test_disappeared_table_is_soft_deleted(catalog: dict, om_server: FakeOpenMetadata, tmp_path: Path) -> None:
    settings = om_settings(tmp_path, om_server.url)
    publish_catalog(settings, catalog)
    table_id = om_server.entities["table"][STG]["id"]
    mark = len(om_server.recorded)
    summary = publish_catalog(settings, _without(catalog, STG))
    assert summary["deleted"] == [STG]
    deletes = [r for r in om_server.recorded[mark:] if r.method == "DELETE"]
    assert [(d.path, d.query) for d in deletes] == [
        (f"/tables/{table_id}", {"recursive": "true", "hardDelete": "false"})]
    held = om_server.entities["table"][STG]
    assert held["deleted"] is True and held["id"] == table_id  # soft: still there, marked deleted
    assert not [r for r in om_server.writes() if r.method == "PUT" and r.path == "/tables"
                and r.body["name"] == "stg_civil_affairs__deaths"][1:]
    mark = len(om_server.recorded)
    assert publish_catalog(settings, _without(catalog, STG))["deleted"] == []  # once only
    assert not [r for r in om_server.recorded[mark:] if r.method == "DELETE"]


def test_server_down_is_one_clear_error_after_retries(catalog: dict, tmp_path: Path) -> None:
    url = _dead_url()
    with pytest.raises(CityDataError) as err:
        publish_catalog(om_settings(tmp_path, url, retries=1), catalog)
    message = str(err.value)
    assert "\n" not in message
    assert message.startswith(f"OpenMetadata at {url} did not answer the version check after 2 attempts")
    assert "run `citydata catalog publish` again" in message


def test_cli_prints_one_line_and_exits_2_when_server_is_down(catalog: dict, tmp_path: Path,
                                                             monkeypatch: pytest.MonkeyPatch,
                                                             capsys: pytest.CaptureFixture) -> None:
    from citydata import cli

    write_catalog(catalog, tmp_path / "catalog.json")
    monkeypatch.setenv("CITYDATA_VAR_DIR", str(tmp_path))
    monkeypatch.setenv("CITYDATA_OPENMETADATA__URL", _dead_url())
    monkeypatch.setenv("CITYDATA_OPENMETADATA__TOKEN", "test-token")
    monkeypatch.setenv("CITYDATA_OPENMETADATA__RETRIES", "0")
    monkeypatch.setattr(sys, "argv", ["citydata", "catalog", "publish"])
    with pytest.raises(SystemExit) as exit_info:
        cli.main()
    assert exit_info.value.code == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: OpenMetadata at http://127.0.0.1:") and "did not answer" in err
    assert len(err.replace("\n", " ").split("error:")) == 2  # one message, no traceback


def test_transient_5xx_is_retried_with_exponential_backoff(catalog: dict, om_server: FakeOpenMetadata,
                                                           tmp_path: Path) -> None:
    failures = {"left": 2}

    def flaky(method: str, path: str) -> int | None:
        if path == "/tables" and failures["left"]:
            failures["left"] -= 1
            return 503
        return None

    om_server.fail = flaky
    delays: list[float] = []
    requests = build_requests(catalog)
    Publisher(om_server.url, "test-token", retries=3, backoff_s=0.5, sleep=delays.append).publish(
        requests, catalog, tmp_path / "state.json")
    assert delays == [0.5, 1.0]
    table_puts = [r for r in om_server.writes() if r.path == "/tables"]
    assert len(table_puts) == len(catalog["tables"]) + 2
    assert set(om_server.entities["table"]) == {t["fullyQualifiedName"] for t in catalog["tables"]}


def test_failure_midway_then_rerun_completes_the_rest(catalog: dict, om_server: FakeOpenMetadata,
                                                      tmp_path: Path) -> None:
    settings = om_settings(tmp_path, om_server.url)
    requests = build_requests(catalog)
    om_server.fail = lambda method, path: 503 if method != "GET" and len(om_server.writes()) > 40 else None
    with pytest.raises(CityDataError) as err:
        publish_catalog(settings, catalog)
    message = str(err.value)
    assert "\n" not in message and "after 3 attempts (HTTP 503)" in message
    assert "40 of " + str(len(requests)) + " requests done" in message
    assert len(om_server.writes()) == 40 + 3  # the 41st request, tried three times
    state = json.loads((tmp_path / "openmetadata" / "publish_state.json").read_text(encoding="utf-8"))
    assert state["done"] == [r.key for r in requests[:40]] and state["complete"] is False

    om_server.fail = lambda method, path: None
    mark = len(om_server.writes())
    summary = publish_catalog(settings, catalog)
    assert summary["resumed"] is True and summary["skipped"] == 40 and summary["sent"] == len(requests) - 40
    _assert_sent_as_planned(om_server.writes()[mark:], requests[40:], om_server)
    assert set(om_server.entities["table"]) == {t["fullyQualifiedName"] for t in catalog["tables"]}
    assert len(om_server.lineage) == len(catalog["lineage"]["edges"])


def test_rejected_rate_limited_or_unauthorised_fail_at_once(catalog: dict, om_server: FakeOpenMetadata,
                                                         tmp_path: Path) -> None:
    om_server.fail = lambda method, path: 400 if path == "/topics" else None
    with pytest.raises(CityDataError, match=r"rejected PUT /topics .*HTTP 400"):
        publish_catalog(om_settings(tmp_path, om_server.url), catalog)
    assert len([r for r in om_server.writes() if r.path == "/topics"]) == 1  # no retries for a 4xx
    om_server.fail = lambda method, path: 429 if path == "/topics" else None
    with pytest.raises(CityDataError, match=r"rate-limiting \(HTTP 429\) PUT /topics .*again later"):
        publish_catalog(om_settings(tmp_path, om_server.url), catalog)
    om_server.fail = lambda method, path: None
    om_server.recorded.clear()
    with pytest.raises(CityDataError, match=r"refused the token \(HTTP 401\).*CITYDATA_OPENMETADATA__TOKEN"):
        publish_catalog(om_settings(tmp_path / "other", om_server.url, token="wrong"), catalog)
    assert len(om_server.recorded) == 1


def test_publishing_needs_a_token(catalog: dict, om_server: FakeOpenMetadata, tmp_path: Path) -> None:
    with pytest.raises(CityDataError, match="CITYDATA_OPENMETADATA__TOKEN"):
        publish_catalog(om_settings(tmp_path, om_server.url, token=None), catalog)
    assert om_server.recorded == []


def test_dry_run_writes_numbered_request_files(catalog: dict, om_server: FakeOpenMetadata, tmp_path: Path) -> None:
    from importlib import import_module

    requests = build_requests(catalog)
    summary = publish_catalog(om_settings(tmp_path, None), catalog)  # no URL: dry run by default
    out = tmp_path / "openmetadata" / "requests"
    assert summary["mode"] == "dry-run" and summary["out"] == str(out)
    files = sorted(out.glob("*.json"))
    assert [f.name[:4] for f in files] == [f"{i:04d}" for i in range(1, len(requests) + 1)]
    models = {type(r.model).__name__: type(r.model) for r in requests}
    for f, r in zip(files, requests):
        doc = json.loads(f.read_text(encoding="utf-8"))
        assert (doc["key"], doc["method"], doc["path"]) == (r.key, r.method, "/api/v1" + r.path)
        assert models[doc["model"]].model_validate(doc["body"]) == r.model
        assert import_module(models[doc["model"]].__module__)  # a generated model of openmetadata-ingestion
    deaths = next(out.glob("*-table-departments.civil_affairs.civil.deaths.json"))
    assert "死亡登记信息" in deaths.read_text(encoding="utf-8")  # readable for review

    (out / "9999-stale.json").write_text("{}", encoding="utf-8")
    publish_catalog(om_settings(tmp_path, om_server.url), catalog, dry_run=True, out=out)
    assert not (out / "9999-stale.json").exists() and len(list(out.glob("*.json"))) == len(requests)
    assert om_server.recorded == []  # a dry run with a URL set sends nothing


def test_server_url_is_the_api_root() -> None:
    assert api_url("http://om.example:8585") == "http://om.example:8585/api"
    assert api_url("http://om.example:8585/api/") == "http://om.example:8585/api"


def test_empty_url_means_dry_run(catalog: dict, tmp_path: Path) -> None:
    assert publish_catalog(om_settings(tmp_path, ""), catalog)["mode"] == "dry-run"


def test_server_of_another_version_is_refused(catalog: dict, tmp_path: Path) -> None:
    old = FakeOpenMetadata(version="1.6.4")
    old.start()
    try:
        with pytest.raises(CityDataError, match=r"Server version is 1\.6\.4 vs\. Client version 2\.0"):
            publish_catalog(om_settings(tmp_path, old.url), catalog)
        assert [(r.method, r.path) for r in old.recorded] == [("GET", "/system/version")]
    finally:
        old.stop()
