"""The catalog's columns and edge references validate against openmetadata-ingestion's models."""

from __future__ import annotations

import pytest

from citydata.catalog import get_entity
from citydata.catalog.om import validate_catalog, validate_columns
from citydata.errors import CityDataError


def test_column_list_validates_against_om_column(catalog: dict) -> None:
    models = validate_columns(get_entity(catalog, "departments.civil_affairs.civil.deaths")["columns"])
    by_name = {m.name.root: m for m in models}
    assert by_name["id_number"].dataType.value == "VARCHAR"
    assert by_name["id_number"].tags[0].tagFQN.root == "DataClassification.resident_id"


def test_whole_catalog_validates(catalog: dict) -> None:
    validate_catalog(catalog)


def test_invalid_column_is_reported() -> None:
    with pytest.raises(CityDataError, match="not a valid OpenMetadata Column"):
        validate_columns([{"name": "x", "dataType": "NOT_A_TYPE"}])
