"""Raw change logs on PostgreSQL mean what they mean on DuckDB: the same events give the same change log
and the same current state (change order, deletes, snapshot ties broken by op, a column added later),
duplicates within a batch and replays add nothing, and a failed batch leaves nothing behind."""

from __future__ import annotations

import dataclasses
import datetime as dt

import duckdb
import psycopg2
import pytest

from citydata.settings import Settings
from citydata.warehouse.engine import open_warehouse
from citydata.warehouse.raw import RawEvent, append_events, current_rows_where, transaction

LOADED = dt.datetime(2026, 11, 22, 2, 0, tzinfo=dt.UTC)


def _event(offset: int, key: int, op: str, seq: int, subseq: int, row: dict | None) -> RawEvent:
    before = row if op == "d" else None
    return RawEvent("hrss.s.people", 0, offset, f'{{"id":{key}}}', op, seq, subseq, f"{seq}/{subseq}", None,
                    op == "r", 1, 2, LOADED, before, None if op == "d" else row)


SNAPSHOT = [_event(0, 1, "r", 0, 1, {"id": 1, "name": "王芳"}), _event(1, 2, "r", 0, 2, {"id": 2, "name": "李雷"}),
            _event(2, 3, "r", 0, 3, {"id": 3, "name": "张伟"})]
CHANGES = [
    _event(3, 1, "u", 10, 1, {"id": 1, "name": "王芳芳"}),
    _event(4, 1, "u", 10, 1, {"id": 1, "name": "王芳芳"}),  # the same change read twice: stored once
    _event(5, 2, "d", 10, 2, {"id": 2, "name": "李雷"}),
    _event(6, 3, "u", 0, 3, {"id": 3, "name": "张伟伟"}),  # same position as its snapshot: the update wins
    _event(7, 4, "c", 11, 1, {"id": 4, "name": "赵敏", "email": "zm@example.cn", "note": ""}),  # new columns
    SNAPSHOT[0],  # a replayed snapshot event
]


def _land(con, batches: list[list[RawEvent]]) -> list[int]:
    landed = []
    for batch in batches:
        with transaction(con):
            landed.append(append_events(con, "hrss", "people", batch))
    return landed


def _state(rows) -> list[tuple]:
    return sorted(tuple(r) for r in rows)


@pytest.fixture
def postgres_settings(tmp_path, pg_warehouse) -> Settings:
    return Settings(var_dir=tmp_path, warehouse=pg_warehouse("citydata_raw"))


def test_change_log_and_current_state_equal_duckdbs(postgres_settings, tmp_path):
    duck = duckdb.connect(str(tmp_path / "warehouse.duckdb"))
    current = "select id, name, email, note, _key, _op from raw.hrss__people__current"
    with open_warehouse(postgres_settings) as pg:
        assert _land(pg.con, [SNAPSHOT, CHANGES]) == _land(duck, [SNAPSHOT, CHANGES]) == [3, 4]
        on_postgres = _state(pg.rows(current))
        assert on_postgres == _state(duck.execute(current).fetchall()) == [
            ("1", "王芳芳", None, None, '{"id":1}', "u"), ("3", "张伟伟", None, None, '{"id":3}', "u"),
            ("4", "赵敏", "zm@example.cn", "", '{"id":4}', "c")]
        log = "select _key, _op, _source_seq, _source_subseq, _offset, _snapshot, _loaded_at, name from raw.hrss__people"
        assert _state(pg.rows(log)) == _state(duck.execute(log).fetchall())
        assert _land(pg.con, [SNAPSHOT + CHANGES]) == [0]  # a replay of everything adds nothing
        assert _state(pg.rows(current)) == on_postgres
        columns = "select column_name from information_schema.columns where table_name = 'hrss__people__current' " \
                  "order by ordinal_position"
        assert pg.rows(columns) == duck.execute(columns).fetchall()
    duck.close()


def test_a_failed_batch_lands_nothing(postgres_settings):
    """One poll's appends are one transaction: a table that cannot be written undoes the others."""
    with open_warehouse(postgres_settings) as pg:
        _land(pg.con, [SNAPSHOT])
        with pytest.raises(psycopg2.Error, match="zero-length"):
            with transaction(pg.con):
                append_events(pg.con, "hrss", "people", [_event(8, 6, "c", 12, 1, {"id": 6, "name": "孙八"})])
                append_events(pg.con, "hrss", "broken", [_event(9, 7, "c", 12, 2, {"id": 7, "": "no name"})])
        assert _state(pg.rows("select id from raw.hrss__people__current")) == [("1",), ("2",), ("3",)]
        assert pg.rows("select count(*) from information_schema.tables where table_name = 'hrss__broken'") == [(0,)]


def _at(event: RawEvent, loaded_at: dt.datetime) -> RawEvent:
    return dataclasses.replace(event, loaded_at=loaded_at)


def test_current_rows_where_are_the_current_views_rows_that_satisfy_it(postgres_settings, tmp_path):
    """``current_rows_where`` (the gate's changed partition of a raw view, and the rows a check rejects, found
    in the change log) gives the view's rows satisfying a condition: after a time, updates and creates, not a
    delete, not a key whose late-arriving event is older than what the view shows; a value only an earlier
    version of a key had finds nothing."""
    later = LOADED + dt.timedelta(hours=1)
    first = [*SNAPSHOT, _event(20, 5, "r", 20, 1, {"id": 5, "name": "周杰"})]
    second = [_at(e, later) for e in [*CHANGES[:-1], _event(21, 5, "u", 15, 1, {"id": 5, "name": "周杰伦"})]]
    since = f"_loaded_at > cast('{LOADED.isoformat()}' as timestamp with time zone)"
    expected = {since: [("1", "王芳芳", '{"id":1}', "u"), ("3", "张伟伟", '{"id":3}', "u"), ("4", "赵敏", '{"id":4}', "c")],
                "name = '王芳'": [], "name like '周杰%'": [("5", "周杰", '{"id":5}', "r")],
                "email is null": [("1", "王芳芳", '{"id":1}', "u"), ("3", "张伟伟", '{"id":3}', "u"),
                                  ("5", "周杰", '{"id":5}', "r")]}
    duck = duckdb.connect(str(tmp_path / "warehouse.duckdb"))
    with open_warehouse(postgres_settings) as pg:
        for con in (pg.con, duck):
            _land(con, [first, second])
        for condition, rows in expected.items():
            view = f"select id, name, _key, _op from raw.hrss__people__current where {condition}"
            found = f"select id, name, _key, _op from ({current_rows_where('raw.hrss__people', condition)}) as f"
            assert _state(duck.execute(view).fetchall()) == _state(duck.execute(found).fetchall()) == rows, condition
            assert _state(pg.rows(view)) == _state(pg.rows(found)) == rows, condition
    duck.close()


def test_the_current_view_ranks_only_keys_with_several_events_and_means_what_postgres_means(
        postgres_settings, tmp_path):
    """DuckDB's view takes a key's one event as its current row without ranking it, and ranks the keys with
    several; the state equals PostgreSQL's (ranked throughout) for a key created then deleted, one whose
    only event is a delete, single-event keys, and keyless events (one key, as a window partition has)."""
    keyless = [RawEvent("hrss.s.people", 0, 30 + i, None, "c", 30 + i, 1, f"{30 + i}/1", None, False, 1, 2, LOADED,
                        None, {"id": 90 + i, "name": name}) for i, name in enumerate(["甲", "乙"])]
    events = [*SNAPSHOT, _event(10, 6, "c", 12, 1, {"id": 6, "name": "孙八"}),
              _event(11, 6, "d", 13, 1, {"id": 6, "name": "孙八"}),
              _event(12, 7, "d", 14, 1, {"id": 7, "name": "周九"}), *keyless]
    current = "select id, name, _key, _op from raw.hrss__people__current"
    duck = duckdb.connect(str(tmp_path / "warehouse.duckdb"))
    with open_warehouse(postgres_settings) as pg:
        for con in (pg.con, duck):
            _land(con, [events])
        assert _state(duck.execute(current).fetchall()) == _state(pg.rows(current)) == [
            ("1", "王芳", '{"id":1}', "r"), ("2", "李雷", '{"id":2}', "r"), ("3", "张伟", '{"id":3}', "r"),
            ("91", "乙", None, "c")]
    duck.close()
