"""The same project builds on PostgreSQL (target 'postgres', the default__ macro implementations).

Raw current-state tables are created in a real embedded PostgreSQL from the hand-made city; the
marts must hold exactly what the DuckDB build holds, and the validators must agree with stdnum.
"""

from __future__ import annotations

import datetime as dt
import decimal

import handmade_city
import identifier_oracle as oracle
import pytest
from psycopg2.extras import execute_values
from test_validators_differential import ID_SQL, USCC_SQL, _area_codes, generate_id_values, generate_uscc_values

from citydata.warehouse.dbt_build import build, compile_inline
from citydata.warehouse.direct import pg_text
from citydata.warehouse.raw import META_COLUMNS

DATABASE = "citydata_dbt"
MARTS = {
    "population.persons": "person_id",
    "legal_entity.legal_entities": "legal_entity_id",
    "credit.credit_records": "credit_record_id",
    "credit.credit_profiles": "credit_profile_id",
    "governance.household_conflicts": "person_record_id",
    "governance.invalid_identifiers": "invalid_identifier_id",
    "governance.legal_reps_missing_from_population": "enterprise_id",
    "governance.conflicts": "conflict_id",
    "history.person_registrations_history": "person_registration_period_id",
    "history.legal_entity_status_history": "legal_entity_status_period_id",
    "credit.credit_records_public": "credit_record_id",
}


def _create_raw(conn, frames) -> None:
    with conn.cursor() as cur:
        cur.execute("create schema raw")
        for (connector, table), frame in frames.items():
            name = f"{connector}__{table}__current"
            columns = ", ".join(f'"{c}" varchar' for c in frame.columns)
            cur.execute(f'create table raw."{name}" ({columns}, _key varchar, _op varchar, '
                        "_source_pos varchar, _source_ts_ms bigint, _loaded_at timestamptz)")
            # The change log incremental runs read (empty: nothing landed since the first build).
            meta = ", ".join(f'"{c}" {t.replace("VARCHAR", "varchar")}' for c, t in META_COLUMNS)
            cur.execute(f'create table raw."{connector}__{table}" ({meta}, {columns})')
            marks = ", ".join(["%s"] * len(frame.columns))
            for record in frame.to_dict("records"):
                values = [None if (v := pg_text(x)) is None else str(v) for x in record.values()]
                cur.execute(f'insert into raw."{name}" values ({marks}, null, \'r\', null, null, now())', values)


@pytest.fixture(scope="module")
def postgres_build(pg, dbt_project, tmp_path_factory):
    pg.create_database(DATABASE)
    conn = pg.connect(DATABASE)
    conn.autocommit = True
    _create_raw(conn, handmade_city.frames())
    with pytest.MonkeyPatch.context() as env:
        env.setenv("CITYDATA_DBT_POSTGRES_HOST", pg.host)
        env.setenv("CITYDATA_DBT_POSTGRES_PORT", str(pg.port))
        env.setenv("CITYDATA_DBT_POSTGRES_USER", pg.user)
        env.setenv("CITYDATA_DBT_POSTGRES_DATABASE", DATABASE)
        if pg.password:
            env.setenv("CITYDATA_DBT_POSTGRES_PASSWORD", pg.password)
        unused = tmp_path_factory.mktemp("unused") / "warehouse.duckdb"
        result = build(dbt_project, unused, target="postgres")
        compiled = compile_inline(dbt_project, unused, ID_SQL + "\n;\n" + USCC_SQL, target="postgres")
        yield conn, result, compiled.split("\n;\n")
    conn.close()


def _comparable(value: object) -> object:
    if isinstance(value, dt.datetime):
        return value.astimezone(dt.UTC).isoformat()
    if isinstance(value, (decimal.Decimal, float)):
        return round(float(value), 6)
    return value


def _rows(cursor_rows) -> list[tuple]:
    return [tuple(_comparable(v) for v in row) for row in cursor_rows]


def test_postgres_build_passes(postgres_build):
    _, result, _ = postgres_build
    assert not {"error", "fail", "skipped"} & set(result.counts)
    assert {"model", "seed", "test", "unit_test"} <= {n.resource_type for n in result.nodes}
    assert result.rows("persons") == len(oracle.valid_person_ids(handmade_city.frames()))  # from dbt-postgres


def _columns_but_load_times(conn, relation: str) -> str:
    """The relation's columns except loaded_at (each engine stamps its own load time)."""
    schema, table = relation.split(".")
    with conn.cursor() as cur:
        cur.execute("select column_name from information_schema.columns where table_schema = %s and table_name = %s "
                    "and column_name <> 'loaded_at' order by ordinal_position", [schema, table])
        return ", ".join(f'"{c}"' for (c,) in cur.fetchall())


def _mart_rows(conn) -> dict[str, list[tuple]]:
    rows = {}
    for relation, key in MARTS.items():
        with conn.cursor() as cur:
            cur.execute(f"select {_columns_but_load_times(conn, relation)} from {relation} order by {key}")
            rows[relation] = _rows(cur.fetchall())
    return rows


def test_marts_equal_the_duckdb_build(postgres_build, handmade):
    conn = postgres_build[0]
    for relation, key in MARTS.items():
        columns = _columns_but_load_times(conn, relation)
        with conn.cursor() as cur:
            cur.execute(f"select {columns} from {relation} order by {key}")
            on_postgres = _rows(cur.fetchall())
        on_duckdb = _rows(handmade.query(f"select {columns} from {relation} order by {key}"))
        assert on_postgres == on_duckdb, relation


def test_validators_agree_with_stdnum_on_postgres(postgres_build, dbt_project):
    conn, _, (id_sql, uscc_sql) = postgres_build
    ids = generate_id_values(_area_codes(dbt_project), 20_000, seed=7)
    usccs = generate_uscc_values(10_000, seed=8)
    with conn.cursor() as cur:
        for table, values in (("differential_id_values", ids), ("differential_uscc_values", usccs)):
            cur.execute(f"create table {table} (value_id integer, raw_value varchar)")
            execute_values(cur, f"insert into {table} values %s", list(enumerate(values)), page_size=5000)
        cur.execute(f"select * from ({id_sql}) as checked order by value_id")
        id_rows = cur.fetchall()
        cur.execute(f"select * from ({uscc_sql}) as checked order by value_id")
        uscc_rows = cur.fetchall()
    bad = [(raw, row) for raw, row in zip(ids, id_rows)
           if row[1] != oracle.normalise_id_number(raw)
           or (row[2] is None) != oracle.is_valid_id_number(oracle.normalise_id_number(raw))
           or (row[2] is None and row[4] != oracle.ric.get_birth_date(row[1]))]
    bad += [(raw, row) for raw, row in zip(usccs, uscc_rows)
            if row[1] != oracle.normalise_uscc(raw)
            or (row[2] is None) != oracle.is_valid_uscc(oracle.normalise_uscc(raw))]
    assert bad == [], f"{len(bad)} disagreements, e.g. {bad[:5]}"


def test_incremental_rerun_on_postgres_changes_nothing(postgres_build, dbt_project, tmp_path):
    """A second build with nothing landed runs every incremental path (hooks, touched keys, change-log
    reads) on PostgreSQL; the marts stay as they were."""
    conn = postgres_build[0]
    before = _mart_rows(conn)
    again = build(dbt_project, tmp_path / "unused.duckdb", target="postgres")
    assert not {"error", "fail", "skipped"} & set(again.counts)
    assert _mart_rows(conn) == before
    with conn.cursor() as cur:
        cur.execute("select count(*) from intermediate.int_person_identifiers_unioned__touched")
        assert cur.fetchone()[0] == 0
