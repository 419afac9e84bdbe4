"""Opening the warehouse Settings choose: DuckDB by default, PostgreSQL by ``CITYDATA_WAREHOUSE__*``, with
the same ``?`` SQL on both and one line when the database cannot be reached."""

from __future__ import annotations

import pytest

from citydata.errors import CityDataError
from citydata.services.ports import free_port
from citydata.settings import Settings, WarehouseSettings
from citydata.warehouse.engine import open_warehouse


def test_the_engine_comes_from_the_environment(tmp_path, monkeypatch):
    assert Settings(var_dir=tmp_path).warehouse.engine == "duckdb"
    for name, value in {"ENGINE": "postgres", "HOST": "warehouse-db", "PORT": "5433", "USER": "citydata",
                        "PASSWORD": "pw", "DATABASE": "wh"}.items():
        monkeypatch.setenv(f"CITYDATA_WAREHOUSE__{name}", value)
    warehouse = Settings(var_dir=tmp_path).warehouse
    assert (warehouse.engine, warehouse.host, warehouse.port, warehouse.user, warehouse.database) == (
        "postgres", "warehouse-db", 5433, "citydata", "wh")
    assert warehouse.password.get_secret_value() == "pw"


@pytest.mark.parametrize("engine", ["duckdb", "postgres"])
def test_question_marks_and_percent_signs_mean_the_same_on_both_engines(engine, tmp_path, pg_warehouse):
    settings = Settings(var_dir=tmp_path, warehouse=pg_warehouse("citydata_engine") if engine == "postgres"
                        else WarehouseSettings())
    with open_warehouse(settings) as warehouse:
        assert warehouse.engine == engine
        assert warehouse.rows("select '50% ?' || ?, 'it''s' where 'a' like 'a%'", ["x"]) == [("50% ?x", "it's")]
        assert warehouse.rows("select count(*) from (select 1 as one) as t where 'b' like 'b%'") == [(1,)]


def test_an_unreachable_postgres_warehouse_is_one_line(tmp_path):
    settings = Settings(var_dir=tmp_path, warehouse={"engine": "postgres", "host": "127.0.0.1", "port": free_port(),
                                                     "database": "warehouse", "password": "secret"})
    with pytest.raises(CityDataError) as caught:
        open_warehouse(settings)
    message = str(caught.value)
    assert "\n" not in message and "127.0.0.1" in message and "CITYDATA_WAREHOUSE__" in message
    assert "secret" not in message
