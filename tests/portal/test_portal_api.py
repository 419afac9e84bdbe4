"""CKAN-compatible Action API and the lineage API."""

from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient

from citydata.portal import create_app

A = "/api/3/action/"


def test_package_list(client: TestClient) -> None:
    body = client.get(A + "package_list").json()
    assert body["success"] is True and body["help"].endswith("help_show?name=package_list")
    assert "warehouse-citydata-marts-population_persons" in body["result"]
    assert "kafka-civil_affairs_civil_deaths" in body["result"]
    assert body["result"] == sorted(body["result"])
    assert len(client.get(A + "package_list", params={"limit": 2}).json()["result"]) == 2


def test_package_show_by_name_fqn_and_id(client: TestClient) -> None:
    pkg = client.get(A + "package_show", params={"id": "warehouse-citydata-marts-credit_profiles"}).json()["result"]
    assert pkg["title"] == "信用信息库" and pkg["organization"]["name"] == "data_bureau"
    extras = {e["key"]: e["value"] for e in pkg["extras"]}
    assert extras["gate_status"] == "fail" and extras["row_count"] == "95" and extras["layer"] == "mart"
    assert {r["format"] for r in pkg["resources"]} == {"HTML", "JSON"}
    assert pkg["num_resources"] == 2 and pkg["num_tags"] == len(pkg["tags"])
    by_fqn = client.get(A + "package_show", params={"id": "warehouse.citydata.marts.credit_profiles"}).json()
    by_id = client.get(A + "package_show", params={"id": pkg["id"]}).json()
    assert by_fqn["result"]["id"] == by_id["result"]["id"] == pkg["id"]
    posted = client.post(A + "package_show", json={"id": pkg["name"]}).json()
    assert posted["result"]["id"] == pkg["id"]


def test_package_show_errors(client: TestClient) -> None:
    r = client.get(A + "package_show", params={"id": "no-such-dataset"})
    assert r.status_code == 404
    assert r.json()["success"] is False and r.json()["error"]["__type"] == "Not Found Error"
    r = client.get(A + "package_show")
    assert r.status_code == 409 and r.json()["error"]["__type"] == "Validation Error"
    assert r.json()["error"]["id"] == ["Missing value"]


def test_package_search(client: TestClient) -> None:
    res = client.get(A + "package_search", params={"q": "deaths", "rows": 2}).json()["result"]
    assert res["count"] == 5 and len(res["results"]) == 2
    page2 = client.get(A + "package_search", params={"q": "deaths", "rows": 2, "start": 2}).json()["result"]
    assert {p["name"] for p in page2["results"]}.isdisjoint(p["name"] for p in res["results"])
    everything = client.get(A + "package_search", params={"rows": 1000}).json()["result"]
    assert everything["count"] == len(client.get(A + "package_list").json()["result"])
    orgs = client.get(A + "package_search", params={"fq": "organization:court", "rows": 100}).json()["result"]
    assert orgs["count"] == 4 and all(p["organization"]["name"] == "court" for p in orgs["results"])
    assert client.get(A + "package_search", params={"q": "死亡登记"}).json()["result"]["count"] >= 1
    bad = client.get(A + "package_search", params={"rows": "many"})
    assert bad.status_code == 409 and bad.json()["error"]["__type"] == "Validation Error"


def test_organizations_and_status(client: TestClient) -> None:
    names = client.get(A + "organization_list").json()["result"]
    assert {"civil_affairs", "public_security", "data_bureau"} <= set(names)
    full = client.get(A + "organization_list", params={"all_fields": "true"}).json()["result"]
    assert {o["name"]: o["title"] for o in full}["civil_affairs"] == "市民政局"
    org = client.get(A + "organization_show", params={"id": "court"}).json()["result"]
    assert org["package_count"] == 4
    assert client.get(A + "organization_show", params={"id": "x"}).status_code == 404
    status = client.get(A + "status_show").json()
    assert status["success"] and status["result"]["ckan_version"].startswith("2.")


def test_unknown_action(client: TestClient) -> None:
    r = client.get(A + "resource_delete")
    assert r.status_code == 400 and r.json()["success"] is False


def test_ckan_without_catalog(tmp_path: Path) -> None:
    r = TestClient(create_app(tmp_path / "missing.json")).get(A + "package_list")
    assert r.status_code == 503 and r.json()["success"] is False
    assert "make demo" in r.json()["error"]["message"]
    status = TestClient(create_app(tmp_path / "missing.json")).get(A + "status_show")
    assert status.status_code == 200


def test_lineage_api(client: TestClient) -> None:
    body = client.get("/api/lineage/warehouse.citydata.marts.population_persons",
                      params={"direction": "upstream"}).json()
    layers = {n["layer"] for n in body["nodes"]}
    assert {"source", "topic", "raw", "staging", "intermediate"} <= layers
    assert all(n["direction"] == "upstream" for n in body["nodes"])
    assert body["entity"]["fullyQualifiedName"] == "warehouse.citydata.marts.population_persons"
    down = client.get('/api/lineage/kafka."civil_affairs.civil.deaths"',
                      params={"direction": "downstream", "depth": 1}).json()
    assert [n["fullyQualifiedName"] for n in down["nodes"]] == ["warehouse.citydata.raw.civil_affairs__deaths"]
    both = client.get("/api/lineage/warehouse.citydata.raw.civil_affairs__deaths").json()
    assert {n["direction"] for n in both["nodes"]} == {"upstream", "downstream"}


def test_lineage_api_errors(client: TestClient) -> None:
    r = client.get("/api/lineage/warehouse.citydata.marts.nope")
    assert r.status_code == 404 and "no dataset" in r.json()["detail"]
    r = client.get("/api/lineage/warehouse.citydata.marts.population_persons", params={"direction": "up"})
    assert r.status_code == 422
