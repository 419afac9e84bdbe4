"""CKAN-compatible Action API and the lineage API."""

from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient
from tests.portal.data_paths import ENTITIES, count, published

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


def test_groups_and_tags(client: TestClient) -> None:
    groups = client.get(A + "group_list").json()["result"]
    assert {"credit", "population", "staging", "raw", "topic"} <= set(groups) and groups == sorted(groups)
    full = {g["name"]: g for g in client.get(A + "group_list", params={"all_fields": "true"}).json()["result"]}
    assert full["credit"]["title"] == "信用信息库" and full["credit"]["package_count"] >= 1
    in_group = client.get(A + "package_search", params={"fq": "groups:credit", "rows": 100}).json()["result"]
    assert in_group["count"] == full["credit"]["package_count"]
    assert all(p["groups"][0]["name"] == "credit" for p in in_group["results"])
    assert client.get(A + "group_show", params={"id": "credit"}).json()["result"]["title"] == "信用信息库"
    assert client.get(A + "group_show", params={"id": "nope"}).status_code == 404
    tags = client.get(A + "tag_list").json()["result"]
    assert "PII.Sensitive" in tags and tags == sorted(tags)
    pii = client.get(A + "tag_list", params={"query": "pii"}).json()["result"]
    assert pii and all("pii" in t.lower() for t in pii) and set(pii) < set(tags)


def test_packages_and_datastore_on_published_data(portal: TestClient, portal_settings) -> None:
    pkg = portal.get(A + "package_show", params={"id": "legal_entity.legal_entities"}).json()["result"]
    assert pkg["license_id"] == "cc-by-4.0" and "CC BY" in pkg["license_title"]
    by_format = {r["format"]: r for r in pkg["resources"]}
    assert {"HTML", "CSV", "JSON", "PARQUET"} <= set(by_format)
    assert by_format["CSV"]["datastore_active"] is True and by_format["PARQUET"]["datastore_active"] is False
    assert portal.get(by_format["CSV"]["url"]).content.startswith(b"\xef\xbb\xbf")
    closed = portal.get(A + "package_show", params={"id": "governance.conflicts"}).json()["result"]
    assert closed["license_id"] == "other-closed"

    search = A + "datastore_search"
    body = portal.get(search, params={"resource_id": by_format["CSV"]["id"], "limit": 5}).json()["result"]
    assert body["total"] == count(portal_settings, "legal_entities") and len(body["records"]) == 5
    assert {f["id"] for f in body["fields"]} == set(body["records"][0]) and "address" not in body["records"][0]
    assert body["_links"]["next"].endswith("offset=5")
    following = portal.get(body["_links"]["next"]).json()["result"]["records"]
    assert {r["legal_entity_id"] for r in following}.isdisjoint(r["legal_entity_id"] for r in body["records"])

    filtered = portal.post(search, json={"resource_id": "legal_entity.legal_entities", "filters": {"status": "active"},
                                         "fields": ["legal_entity_id", "status"], "limit": 1000}).json()["result"]
    (active,), = published(portal_settings, "select count(*) from published.legal_entities where status = 'active'")
    assert filtered["total"] == active and {tuple(r) for r in filtered["records"]} == {("legal_entity_id", "status")}

    name = published(portal_settings, "select name from published.legal_entities where name is not null limit 1")[0][0]
    term = name[1:4]
    found = portal.get(search, params={"resource_id": ENTITIES, "q": term, "limit": 1000}).json()["result"]
    # the search runs over the text columns the public receives (for the public: all it receives, unmasked)
    text = {r[0] for r in published(portal_settings, "select column_name from duckdb_columns() where schema_name = "
                                    "'published' and table_name = 'legal_entities' and data_type = 'VARCHAR'")}
    searched = sorted(text & {f["id"] for f in body["fields"]})
    where = " or ".join(f"{c} ilike ?" for c in searched)
    (matching,), = published(portal_settings, f"select count(*) from published.legal_entities where {where}",
                             [f"%{term}%"] * len(searched))
    assert found["total"] == matching >= 1 and "address" not in searched
    assert all(any(term in str(v) for v in r.values()) for r in found["records"])

    sorted_ = portal.get(search, params={"resource_id": ENTITIES, "sort": "legal_entity_id desc",
                                         "limit": 3}).json()["result"]["records"]
    ids = sorted(r[0] for r in published(portal_settings, "select legal_entity_id from published.legal_entities"))
    assert [r["legal_entity_id"] for r in sorted_] == ids[::-1][:3]

    hidden = portal.get(search, params={"resource_id": ENTITIES, "filters": '{"address": "x"}'})
    assert hidden.status_code == 409 and hidden.json()["error"]["__type"] == "Validation Error"
    refused = portal.get(search, params={"resource_id": "population.persons"})
    assert refused.status_code == 403 and refused.json()["error"]["__type"] == "Authorization Error"
    metadata_only = portal.get(search, params={"resource_id": "staging.stg_hrss__enrolments"})
    assert metadata_only.status_code == 404 and "datastore not active" in metadata_only.json()["error"]["message"]
    assert portal.get(search).json()["error"]["resource_id"] == ["Missing value"]


def test_ckan_api_is_rate_limited(portal_settings) -> None:
    portal_settings.portal.anonymous_rate_limit = "2/minute"
    with TestClient(create_app(portal_settings)) as c:
        answers = [c.get(A + "package_list") for _ in range(3)]
        assert [r.status_code for r in answers] == [200, 200, 429]
        assert answers[-1].json()["error"]["__type"] == "Rate Limit Error" and answers[-1].headers["Retry-After"]
        # CKAN clients' own spelling of the action path is limited and answered the same way
        alias = c.get("/api/action/package_list")
        assert alias.status_code == 429 and alias.json()["success"] is False
