"""Lineage graph walks over the built catalog."""

from __future__ import annotations

import pytest

from citydata.catalog import UnknownEntityError, lineage
from citydata.errors import CityDataError

MART = "warehouse.citydata.marts.credit_profiles"


def test_upstream_of_mart_reaches_department_sources(catalog: dict) -> None:
    result = lineage(catalog, MART, "upstream")
    assert result["entity"]["fullyQualifiedName"] == MART
    by_fqn = {n["fullyQualifiedName"]: n for n in result["nodes"]}
    assert "departments.court.enforcement.dishonest_debtors" in by_fqn
    assert "departments.market_regulation.registry.enterprises" in by_fqn
    # through legal_entities -> population_persons -> ... -> household registration
    assert by_fqn["departments.public_security.hukou.persons"]["layer"] == "source"
    assert by_fqn['kafka."court.enforcement.dishonest_debtors"']["depth"] == 3
    assert all(n["direction"] == "upstream" for n in result["nodes"])
    depths = [n["depth"] for n in result["nodes"]]
    assert depths == sorted(depths)
    assert {"fromEntity", "toEntity"} <= set(result["edges"][0])


def test_downstream_of_source_reaches_marts(catalog: dict) -> None:
    result = lineage(catalog, "departments.civil_affairs.civil.deaths", "downstream")
    layers = [n["layer"] for n in result["nodes"]]
    assert layers[:3] == ["topic", "raw", "staging"]
    assert "warehouse.citydata.marts.population_persons" in {n["fullyQualifiedName"] for n in result["nodes"]}


def test_depth_and_both(catalog: dict) -> None:
    one = lineage(catalog, "warehouse.citydata.raw.civil_affairs__deaths", "both", depth=1)
    assert {(n["direction"], n["fullyQualifiedName"]) for n in one["nodes"]} == {
        ("upstream", 'kafka."civil_affairs.civil.deaths"'),
        ("downstream", "warehouse.citydata.staging.stg_civil_affairs__deaths")}
    assert len(one["edges"]) == 2
    assert lineage(catalog, MART, "upstream", depth=0)["nodes"] == []


def test_bad_arguments(catalog: dict) -> None:
    with pytest.raises(UnknownEntityError):
        lineage(catalog, "warehouse.citydata.marts.nope")
    with pytest.raises(CityDataError, match="direction"):
        lineage(catalog, MART, "sideways")  # type: ignore[arg-type]


PERSONS = "warehouse.citydata.marts.population_persons"


def test_column_lineage_upstream_to_the_department_column(catalog: dict) -> None:
    result = lineage(catalog, f"{PERSONS}.name", "upstream")
    assert result["column"] == {"name": "name", "fullyQualifiedName": f"{PERSONS}.name"}
    chain = [(n["depth"], n["entity"]["layer"], n["fullyQualifiedName"]) for n in result["nodes"]]
    assert chain == [
        (1, "intermediate", "warehouse.citydata.intermediate.int_persons__matched.name"),
        (2, "staging", "warehouse.citydata.staging.stg_public_security__persons.name"),
        (3, "raw", "warehouse.citydata.raw.public_security__persons.name"),
        (4, "topic", 'kafka."public_security.hukou.persons".after.name'),
        (5, "source", "departments.public_security.hukou.persons.name")]
    assert result["nodes"][3]["column"] == "after.name"
    assert {"fromColumn", "toColumn", "fromEntity", "toEntity"} <= set(result["edges"][0])


def test_column_lineage_downstream_of_a_topic_field(catalog: dict) -> None:
    field = 'kafka."civil_affairs.civil.deaths".after.id_number'
    result = lineage(catalog, field, "both", depth=1)
    assert {(n["direction"], n["fullyQualifiedName"]) for n in result["nodes"]} == {
        ("upstream", "departments.civil_affairs.civil.deaths.id_number"),
        ("downstream", "warehouse.citydata.raw.civil_affairs__deaths.id_number")}
    down = lineage(catalog, field, "downstream")
    assert f"{PERSONS}.id_number" in {n["fullyQualifiedName"] for n in down["nodes"]}


def test_unknown_column_is_unknown(catalog: dict) -> None:
    with pytest.raises(UnknownEntityError):
        lineage(catalog, f"{PERSONS}.nope")
    with pytest.raises(UnknownEntityError):
        lineage(catalog, 'kafka."civil_affairs.civil.deaths".after.nope')


def test_portal_lineage_route_answers_for_columns(catalog: dict, tmp_path) -> None:
    from fastapi.testclient import TestClient

    from citydata.catalog import write_catalog
    from citydata.portal import create_app

    with TestClient(create_app(write_catalog(catalog, tmp_path / "catalog.json"))) as client:
        body = client.get(f"/api/lineage/{PERSONS}.name", params={"direction": "upstream"}).json()
        assert body["column"]["name"] == "name" and body["nodes"][-1]["entity"]["layer"] == "source"
        assert client.get(f"/api/lineage/{PERSONS}.nope").status_code == 404
