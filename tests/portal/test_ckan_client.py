"""A real CKAN client (``ckanapi.RemoteCKAN``) against the portal served by uvicorn over the demo
run's data: search, show, organizations, and the datastore with and without a grant."""

from __future__ import annotations

import ckanapi
import pytest
from tests.portal.data_paths import api_key, count, grant_persons, published

from citydata.settings import Settings


def test_ckanapi_searches_shows_and_reads_the_datastore(live_portal: str, portal_settings: Settings) -> None:
    ckan = ckanapi.RemoteCKAN(live_portal, user_agent="citydata-test")
    found = ckan.action.package_search(q="法人综合库", rows=5)
    assert found["count"] >= 1
    assert "warehouse-citydata-legal_entity-legal_entities" in [p["name"] for p in found["results"]]
    assert "data_bureau" in ckan.action.organization_list()

    pkg = ckan.action.package_show(id="warehouse-citydata-legal_entity-legal_entities")
    store = next(r for r in pkg["resources"] if r.get("datastore_active"))
    page = ckan.action.datastore_search(resource_id=store["id"], limit=10, filters={"status": "active"})
    (active,), = published(portal_settings, "select count(*) from published.legal_entities where status = 'active'")
    assert page["total"] == active and len(page["records"]) == min(10, active)
    assert all(r["status"] == "active" for r in page["records"])
    assert "legal_rep_id_number" not in page["records"][0]

    with pytest.raises(ckanapi.NotFound):
        ckan.action.package_show(id="no-such-dataset")
    with pytest.raises(ckanapi.NotAuthorized):
        ckan.action.datastore_search(resource_id="population.persons")


def test_ckanapi_with_an_api_key_and_a_grant(live_portal: str, portal_settings: Settings) -> None:
    grant = grant_persons(portal_settings, "company.acme")
    key = api_key(portal_settings, "company.acme")
    ckan = ckanapi.RemoteCKAN(live_portal, apikey=key)  # sent raw in Authorization and X-CKAN-API-Key
    persons = ckan.action.datastore_search(resource_id="population.persons", grant=grant, limit=3)
    assert persons["total"] == count(portal_settings, "persons") and len(persons["records"]) == 3
    with pytest.raises(ckanapi.NotAuthorized):
        ckanapi.RemoteCKAN(live_portal, apikey="cdk_not-a-key").action.package_list()
