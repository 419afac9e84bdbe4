"""A failing model or test surfaces as one CityDataError line naming the node and where to look."""

from __future__ import annotations

import shutil

import pytest

from citydata.errors import CityDataError
from citydata.warehouse.dbt_build import build


@pytest.fixture(scope="module")
def broken_project(dbt_project, tmp_path_factory):
    """A copy of the project with one broken model and one failing singular test."""
    copy = tmp_path_factory.mktemp("broken") / "dbt_project"
    shutil.copytree(dbt_project, copy, ignore=shutil.ignore_patterns("target", "logs", "dbt_packages"))
    (copy / "models" / "staging" / "stg_broken.sql").write_text(
        "select 1 as broken_id, no_such_column\n", encoding="utf-8")
    (copy / "models" / "staging" / "stg_fine.sql").write_text("select 1 as fine_id\n", encoding="utf-8")
    (copy / "tests" / "assert_fine_is_empty.sql").write_text(
        "select * from {{ ref('stg_fine') }}\n", encoding="utf-8")
    return copy


def test_broken_model_raises_one_line(broken_project, tmp_path):
    with pytest.raises(CityDataError) as err:
        build(broken_project, tmp_path / "warehouse.duckdb", select="stg_broken")
    message = str(err.value)
    assert "\n" not in message
    assert message.startswith("dbt model stg_broken failed: ")
    assert "no_such_column" in message
    assert message.endswith("logs/dbt.log")


def test_failing_data_test_raises_one_line(broken_project, tmp_path):
    with pytest.raises(CityDataError) as err:
        build(broken_project, tmp_path / "warehouse.duckdb", select="stg_fine assert_fine_is_empty")
    message = str(err.value)
    assert "\n" not in message
    assert message.startswith("dbt test assert_fine_is_empty failed: Got 1 result")


def test_missing_project_is_explained(tmp_path):
    with pytest.raises(CityDataError, match="no dbt project at"):
        build(tmp_path, tmp_path / "warehouse.duckdb")


def test_project_that_does_not_parse_raises_one_line(dbt_project, tmp_path):
    copy = tmp_path / "dbt_project"
    shutil.copytree(dbt_project, copy, ignore=shutil.ignore_patterns("target", "logs", "dbt_packages"))
    (copy / "models" / "staging" / "stg_bad_ref.sql").write_text(
        "select * from {{ ref('no_such_model') }}\n", encoding="utf-8")
    with pytest.raises(CityDataError) as err:
        build(copy, tmp_path / "warehouse.duckdb")
    message = str(err.value)
    assert "\n" not in message
    assert message.startswith("dbt could not build the project: Compilation Error: ")
    assert "'no_such_model' which was not found" in message
