"""Incremental builds (macros/incremental_cdc.sql, macros/incremental_keys.sql).

After CDC changes land — moves, renames, status changes, deletes carrying only their key, new
registrations, a death record withdrawn, an ID number corrected — an incremental ``dbt build`` must
leave every table as a build from scratch on the same raw data would, while staging and the
person-keyed models process only what changed.
"""

from __future__ import annotations

import json
import shutil

import duckdb
import pytest
from bench.build import append_changes, change_events
from conftest import DBT_PROJECT, load_and_build

from citydata.warehouse.dbt_build import build

# Tables a fresh build legitimately differs on: type-2 history and the conflicts log remember the
# state before the change; the touched-keys side tables are bookkeeping.
KEEP_HISTORY = {"snapshots", "history"}
STATEFUL = {("governance", "conflicts")}
LOAD_COLUMNS = {"loaded_at", "build_id"}


def _current_rows(con: duckdb.DuckDBPyConnection, view: str, n: int) -> list[dict]:
    cur = con.execute(f'select * exclude (_op, _source_pos, _source_ts_ms, _loaded_at) from raw."{view}" '
                      f"order by hash(_key || 'incremental') limit {n}")
    names = [d[0] for d in cur.description]
    return [dict(zip(names, row)) for row in cur.fetchall()]


def _withdrawn_deaths_and_corrected_ids(con: duckdb.DuckDBPyConnection) -> dict:
    """Changes the benchmark's burst lacks: deaths withdrawn (a spouse's marital status depends on
    them) and ID numbers corrected on enrolments (the old person loses a record, the new gains one)."""
    married_dead = con.execute("""
        select d.* exclude (_op, _source_pos, _source_ts_ms, _loaded_at)
        from raw.civil_affairs__deaths__current d
        where d.id_number in (select husband_id_number from raw.civil_affairs__marriages__current
                              union select wife_id_number from raw.civil_affairs__marriages__current)
        order by hash(d._key) limit 5""")
    names = [c[0] for c in married_dead.description]
    deaths = [("d", dict(zip(names, row))) for row in married_dead.fetchall()]
    assert deaths, "the synthetic city has married persons who died"
    donors = _current_rows(con, "public_security__persons__current", 10)
    enrolments = _current_rows(con, "hrss__enrolments__current", 10)
    corrected = [("u", {**row, "id_number": donor["id_number"], "name": donor["name"]})
                 for row, donor in zip(enrolments, donors)]
    return {("civil_affairs", "deaths"): deaths, ("hrss", "enrolments"): corrected}


def _drop_built_schemas(path) -> None:
    con = duckdb.connect(str(path))
    try:
        catalog = con.execute("select current_database()").fetchone()[0]
        for (schema,) in con.execute(
                "select schema_name from information_schema.schemata where catalog_name = ? "
                "and schema_name not in ('raw', 'main', 'information_schema', 'pg_catalog')", [catalog]).fetchall():
            con.execute(f'drop schema "{schema}" cascade')
    finally:
        con.close()


@pytest.fixture(scope="module")
def incremental(tmp_path_factory, connectors, synth_city):
    work = tmp_path_factory.mktemp("incremental")
    path = work / "warehouse.duckdb"
    first = load_and_build(path, connectors, synth_city.final_tables())
    con = duckdb.connect(str(path))
    try:
        changes = change_events(con, seed=7, share=0.03)
        changes.update(_withdrawn_deaths_and_corrected_ids(con))
        appended = append_changes(con, connectors, changes)
    finally:
        con.close()
    reference = work / "reference.duckdb"
    shutil.copy(path, reference)
    _drop_built_schemas(reference)
    second = build(DBT_PROJECT, path)
    second_build_id = json.loads(second.run_results_path.read_text())["metadata"]["invocation_id"]
    from_scratch = build(DBT_PROJECT, reference)
    return path, reference, first.result, second, from_scratch, appended, changes, second_build_id


def test_incremental_build_passes(incremental):
    _, _, _, second, from_scratch, appended, _, _ = incremental
    assert sum(appended.values()) > 50
    for result in (second, from_scratch):
        assert not {"error", "fail", "skipped"} & set(result.counts)


def test_incremental_build_equals_a_build_from_scratch(incremental):
    path, reference, *_ = incremental
    con = duckdb.connect(str(path), read_only=True)
    try:
        con.execute(f"attach '{reference}' as reference (read_only)")
        catalog = con.execute("select current_database()").fetchone()[0]
        tables = con.execute(
            "select table_schema, table_name from information_schema.tables where table_catalog = ? "
            "and table_type = 'BASE TABLE' and table_schema <> 'raw' and table_name not like '%__touched' "
            "order by 1, 2", [catalog]).fetchall()
        compared = 0
        for schema, table in tables:
            if schema in KEEP_HISTORY or (schema, table) in STATEFUL:
                continue
            columns = ", ".join(f'"{c}"' for (c,) in con.execute(
                "select column_name from information_schema.columns where table_catalog = ? and table_schema = ? "
                "and table_name = ? order by ordinal_position", [catalog, schema, table]).fetchall()
                if c not in LOAD_COLUMNS)
            for left, right in ((catalog, "reference"), ("reference", catalog)):
                extra = con.execute(f'select count(*) from (select {columns} from {left}."{schema}"."{table}" '
                                    f'except all select {columns} from {right}."{schema}"."{table}")').fetchone()[0]
                assert extra == 0, f"{schema}.{table}: {extra} rows in {left} not in {right}"
            compared += 1
        assert compared >= 20
    finally:
        con.close()


def test_only_changed_keys_are_processed(incremental):
    path, _, first, _, _, _, changes, build_id = incremental
    person_changes = changes[("public_security", "persons")]
    con = duckdb.connect(str(path), read_only=True)
    try:
        def scalar(sql: str) -> int:
            return con.execute(sql, [build_id] if "?" in sql else []).fetchone()[0]

        # Staging read only the upserts since the last build (they carry the new load time).
        upserts = sum(1 for op, _ in person_changes if op != "d")
        assert scalar("select count(*) from staging.stg_public_security__persons where loaded_at = "
                      "(select max(loaded_at) from staging.stg_public_security__persons)") == upserts
        # The person-keyed intermediate models rewrote only the changed records and persons.
        rewritten_records = scalar("select count(*) from intermediate.int_person_identifiers_unioned where build_id = ?")
        rewritten_persons = scalar("select count(*) from intermediate.int_persons_survived where build_id = ?")
        assert 0 < rewritten_records < 0.2 * first.rows("int_person_identifiers_unioned")
        assert len(person_changes) // 2 <= rewritten_persons < 0.2 * first.rows("int_persons_survived")
    finally:
        con.close()
