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
