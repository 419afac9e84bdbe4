"""The REST data API (/api/v1) on the demo run's published data: listing, metadata, pages that walk
every row once, filters only on columns the caller sees unmasked, API keys, rate limits, and grants
that only their own consumer can use."""

from __future__ import annotations

import warnings

from fastapi.testclient import TestClient
from tests.portal.data_paths import add_consumer, api_key, audit, count, grant_persons, published

from citydata.portal import create_app
from citydata.settings import Settings

V1 = "/api/v1"
ENTITY_ROWS = f"{V1}/datasets/legal_entity.legal_entities/rows"


def test_list_and_metadata(portal: TestClient, portal_settings: Settings) -> None:
    listed = {d["name"]: d for d in portal.get(f"{V1}/datasets").json()}
    tables = {r[0] for r in published(portal_settings, "select table_name from duckdb_tables() "
                                                       "where schema_name = 'published'")}
    assert {"population.persons", "legal_entity.legal_entities", "credit.credit_records_public"} <= set(listed)
    assert {name.split(".")[1] for name in listed} <= tables
    # a department source table named like a published one (hukou.persons ~ published.persons) has no rows here
    assert "hukou.persons" not in listed
    assert portal.get(f"{V1}/datasets/departments.public_security.hukou.persons/rows").status_code == 404
    entities = listed["legal_entity.legal_entities"]
    assert entities["openness"] == "open" and entities["openness_label"] == "普遍开放"
    assert entities["row_count"] == count(portal_settings, "legal_entities")
    assert entities["department"] == "data_bureau" and entities["title"] == "法人综合库"
    assert listed["population.persons"]["openness"] == "conditional"
    assert entities["links"]["downloads"]["csv"].endswith("/download.csv")

    meta = portal.get(entities["links"]["self"]).json()
    columns = {c["name"]: c for c in meta["columns"]}
    assert columns["legal_rep_id_number"]["grade"] == "L4" and "resident_id" in columns["legal_rep_id_number"]["classes"]
    assert columns["name"]["grade"] == "L1" and meta["terms"] is None
    by_fqn = portal.get(f"{V1}/datasets/warehouse.citydata.legal_entity.legal_entities").json()
    assert by_fqn["name"] == "legal_entity.legal_entities"
    persons = portal.get(f"{V1}/datasets/population.persons").json()
    assert "social_assistance" in persons["terms"]["purposes"] and persons["terms"]["max_downloads"] >= 1
    missing = portal.get(f"{V1}/datasets/no.such")
    assert missing.status_code == 404 and "no dataset" in missing.json()["detail"]
    assert portal.get(f"{V1}/datasets/warehouse.citydata.staging.stg_hrss__enrolments").status_code == 404


def test_pages_walk_every_row_once(portal: TestClient, portal_settings: Settings) -> None:
    ids: list[str] = []
    url: str | None = ENTITY_ROWS + "?limit=7"
    pages = 0
    while url:
        body = portal.get(url).json()
        assert body["limit"] == 7 and len(body["rows"]) <= 7
        ids += [r["legal_entity_id"] for r in body["rows"]]
        url, pages = body["next"], pages + 1
    expected = [r[0] for r in published(portal_settings, "select legal_entity_id from published.legal_entities")]
    assert len(ids) == len(set(ids)) == body["total"] == len(expected)
    assert set(ids) == set(expected) and pages == -(-len(expected) // 7)
    first = portal.get(ENTITY_ROWS, params={"limit": 3}).json()
    assert {"legal_rep_id_number", "address"}.isdisjoint(first["rows"][0])
    assert {c["id"] for c in first["columns"]} == set(first["rows"][0])
    assert dict((c["id"], c["type"]) for c in first["columns"])["established_on"] == "date"
    desc = portal.get(ENTITY_ROWS, params={"limit": 3, "order_by": "-legal_entity_id"}).json()["rows"]
    assert [r["legal_entity_id"] for r in desc] == sorted(expected, reverse=True)[:3]


def test_filters_and_their_errors(portal: TestClient, portal_settings: Settings) -> None:
    active = portal.get(ENTITY_ROWS, params={"status": "active", "limit": 1000}).json()
    (expected,), = published(portal_settings, "select count(*) from published.legal_entities where status = 'active'")
    assert active["total"] == expected == len(active["rows"]) and expected > 0
    assert {r["status"] for r in active["rows"]} == {"active"}

    unknown = portal.get(ENTITY_ROWS, params={"nosuch": "1"})
    assert unknown.status_code == 400
    detail = unknown.json()["detail"]
    assert "\n" not in detail and "'nosuch'" in detail and "legal_entity_id" in detail
    # a column the public receives masked or not at all cannot be probed with a filter
    hidden = portal.get(ENTITY_ROWS, params={"legal_rep_id_number": "110101199001011234"})
    assert hidden.status_code == 400 and "masked or withheld" in hidden.json()["detail"]
    assert portal.get(ENTITY_ROWS, params={"order_by": "address"}).status_code == 400
    too_many = portal.get(ENTITY_ROWS, params={"limit": portal_settings.portal.page_size_max + 1})
    assert too_many.status_code == 400 and "page size" in too_many.json()["detail"]
    assert portal.get(ENTITY_ROWS, params={"limit": 0}).status_code == 422


def test_keys_me_and_refusals(portal: TestClient, portal_settings: Settings) -> None:
    assert portal.get(f"{V1}/me").status_code == 401
    bad = portal.get(f"{V1}/me", headers={"X-API-Key": "cdk_not-a-key"})
    assert bad.status_code == 401 and "not recognised" in bad.json()["detail"]
    assert portal.get(ENTITY_ROWS, headers={"X-API-Key": "cdk_not-a-key"}).status_code == 401
    key = api_key(portal_settings, "company.acme")
    me = portal.get(f"{V1}/me", headers={"Authorization": f"Bearer {key}"}).json()
    assert (me["id"], me["role"], me["domain"], me["via"], me["grants"]) == (
        "company.acme", "registered_consumer", "acme", "api_key", [])

    refused = portal.get(f"{V1}/datasets/population.persons/rows", headers={"X-API-Key": key})
    assert refused.status_code == 403 and "有条件开放" in refused.json()["detail"]
    assert "\n" not in refused.json()["detail"]
    assert [(e["consumer"], e["dataset"]) for e in audit(portal_settings, "refuse")] == [
        ("company.acme", "population.persons")]


def test_grants_are_per_consumer(portal: TestClient, portal_settings: Settings) -> None:
    grant = grant_persons(portal_settings, "company.acme")
    add_consumer(portal_settings, "company.other", "other")
    acme, other = api_key(portal_settings, "company.acme"), api_key(portal_settings, "company.other")
    rows = f"{V1}/datasets/population.persons/rows"

    mine = portal.get(rows, params={"grant": grant, "limit": 5}, headers={"X-API-Key": acme})
    assert mine.status_code == 200, mine.text
    body = mine.json()
    assert body["total"] == count(portal_settings, "persons") and len(body["rows"]) == 5
    raw_ids = {r[0] for r in published(portal_settings, "select person_id from published.persons")}
    assert raw_ids.isdisjoint(r["person_id"] for r in body["rows"])  # acme's pseudonyms
    assert [g["id"] for g in portal.get(f"{V1}/me", headers={"X-API-Key": acme}).json()["grants"]] == [grant]

    stolen = portal.get(rows, params={"grant": grant, "purpose": "social_assistance"}, headers={"X-API-Key": other})
    assert stolen.status_code == 403 and f"grant {grant} is not yours (company.other)" in stolen.json()["detail"]
    assert "company.acme" not in stolen.json()["detail"]  # nothing said of whose grant it is
    refusals = audit(portal_settings, "refuse")
    assert [(e["consumer"], e["detail"]["grant"]) for e in refusals] == [("company.other", grant)]
    reads = audit(portal_settings, "restricted_read")
    assert [(e["consumer"], e["rows"]) for e in reads] == [("company.acme", 5)]


def test_rate_limit_answers_429(portal_settings: Settings) -> None:
    portal_settings.portal.rate_limit = "3/minute"
    key = api_key(portal_settings, "company.acme")
    with TestClient(create_app(portal_settings)) as client:
        answers = [client.get(f"{V1}/me", headers={"X-API-Key": key}) for _ in range(4)]
        assert [r.status_code for r in answers] == [200, 200, 200, 429]
        assert int(answers[-1].headers["Retry-After"]) >= 1 and "rate limit" in answers[-1].json()["detail"]
        # another key has its own budget
        other = api_key(portal_settings, "analyst.bureau")
        assert client.get(ENTITY_ROWS, headers={"X-API-Key": other}).status_code == 200


def test_openapi_documents_the_data_api(portal: TestClient) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # e.g. FastAPI's "Duplicate Operation ID"
        schema = portal.get("/openapi.json").json()
    rows = schema["paths"][f"{V1}/datasets/{{name}}/rows"]["get"]
    assert rows["tags"] == ["data API 数据接口"] and "数据行" in rows["summary"]
    assert {p["name"] for p in rows["parameters"]} >= {"name", "limit", "offset", "order_by", "grant", "purpose"}
    page = schema["components"]["schemas"]["RowsPage"]["properties"]
    assert {"dataset", "total", "limit", "offset", "next", "columns", "rows"} <= set(page)
    assert "下一页" in page["next"]["description"]
    assert {"get", "post"} <= set(schema["paths"]["/api/3/action/{action}"])
    assert "/catalog.jsonld" in schema["paths"] and portal.get("/docs").status_code == 200
