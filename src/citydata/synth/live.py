"""The live burst: inserts, updates and deletes applied after the initial load, so CDC sees c/u/d.

Inserts are the rows generated in the 'live' phase (births and newborns' household registration,
deaths, marriages, new enterprises and taxpayers, hires, penalties and licences). Updates cancel
enterprises, end or suspend enrolments and remove court debtors from the list; a few debtor rows
are deleted outright. Changes are ordered by their time after BASE.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

import numpy as np
import pandas as pd

from citydata.ingest.config import ConnectorConfig
from citydata.synth.assemble import live_ts, py
from citydata.synth.events import live_times

if TYPE_CHECKING:
    from citydata.services.postgres import PostgresServer
    from citydata.synth.core import SynthCity

Key = tuple[str, str]
ENROLMENT_CHANGES = 0.02   # share of initial active enrolments ended or suspended in the burst
DEBTOR_REMOVALS = 0.10     # share of listed debtors removed (UPDATE) in the burst
DEBTOR_DELETES = 2         # debtor rows deleted outright


@dataclass(frozen=True)
class Change:
    """One source change. ``key`` = {pk column: value}; ``values`` = full row (insert) or the
    changed columns (update, always including ``updated_at``) or {} (delete)."""

    connector: str
    table: str
    op: Literal["insert", "update", "delete"]
    key: dict[str, object]
    values: dict[str, object] = field(default_factory=dict)
    ts: float = 0.0  # seconds after BASE


def build_live(tables: dict[Key, pd.DataFrame], typed: dict[Key, pd.DataFrame], pks: dict[Key, str],
               entities: pd.DataFrame, r: random.Random) -> tuple[list[Change], set[tuple[str, str, int]]]:
    """All live changes, time-ordered; also the (connector, table, pk) of deleted rows."""
    changes: list[Change] = []
    for key, df in tables.items():
        live = np.flatnonzero((df["_phase"] == "live").to_numpy())
        if not len(live):
            continue
        rows = typed[key].iloc[live]
        pk = pks[key]
        for ts, row in zip(df["_ts"].to_numpy()[live], rows.itertuples(index=False, name=None)):
            values = {c: py(v) for c, v in zip(rows.columns, row)}
            changes.append(Change(key[0], key[1], "insert", {pk: values[pk]}, values, float(ts)))
    changes += _updates(tables, pks, entities, r)
    deleted = set()
    debt = ("court", "dishonest_debtors")
    if debt in tables:
        df = tables[debt]
        updated = {c.key[pks[debt]] for c in changes if (c.connector, c.table) == debt}
        cand = [int(p) for p, ph in zip(df[pks[debt]], df["_phase"]) if ph == "initial" and int(p) not in updated]
        for ts, p in zip(live_times(r, min(DEBTOR_DELETES, len(cand))), r.sample(cand, min(DEBTOR_DELETES, len(cand)))):
            changes.append(Change(*debt, "delete", {pks[debt]: p}, {}, ts))
            deleted.add((*debt, p))
    order = sorted(range(len(changes)), key=lambda i: (changes[i].ts, i))
    return [changes[i] for i in order], deleted


def _update(key: Key, pk: str, value: int, ts: float, **values: object) -> Change:
    return Change(key[0], key[1], "update", {pk: int(value)}, {**values, "updated_at": live_ts(ts)}, ts)


def _updates(tables: dict[Key, pd.DataFrame], pks: dict[Key, str], entities: pd.DataFrame,
             r: random.Random) -> list[Change]:
    out = []
    ent = ("market_regulation", "enterprises")
    if ent in tables:
        df = tables[ent]
        cancel_ts = entities["cancel_ts"].to_numpy()[df["_k_uscc"].to_numpy()]
        hit = (cancel_ts >= 0) & (df["_dup_of"] < 0).to_numpy() & (df["_phase"] == "initial").to_numpy()
        for p, ts in zip(df.loc[hit, pks[ent]], cancel_ts[hit]):
            out.append(_update(ent, pks[ent], p, ts, status="cancelled"))
    enr = ("hrss", "enrolments")
    if enr in tables:
        df = tables[enr]
        cand = df.loc[(df["_phase"] == "initial") & (df["status"] == "active"), pks[enr]].tolist()
        n = min(len(cand), round(ENROLMENT_CHANGES * len(cand)))
        for ts, p in zip(live_times(r, n), sorted(r.sample(cand, n))):
            out.append(_update(enr, pks[enr], p, ts, status=r.choice(("ended", "ended", "suspended"))))
    debt = ("court", "dishonest_debtors")
    if debt in tables:
        df = tables[debt]
        cand = df.loc[(df["_phase"] == "initial") & (df["status"] == "listed"), pks[debt]].tolist()
        n = min(len(cand), max(1, round(DEBTOR_REMOVALS * len(cand))))
        for ts, p in zip(live_times(r, n), sorted(r.sample(cand, n))):
            out.append(_update(debt, pks[debt], p, ts, status="removed"))
    return out


def apply_live(city: SynthCity, server: PostgresServer, connectors: list[ConnectorConfig], batch_size: int = 50,
               pause_s: float = 0.0, progress: Callable[[int], None] | None = None) -> int:
    """Apply ``city.live`` in order, committing every ``batch_size`` changes (one transaction per
    touched database per batch, so CDC sees separate commits). ``progress`` gets the cumulative
    number of changes applied after each batch. Returns the number applied."""
    by_name = {c.name: c for c in connectors}
    conns: dict[str, object] = {}
    done = 0
    try:
        for start in range(0, len(city.live), max(1, batch_size)):
            batch = city.live[start:start + max(1, batch_size)]
            touched = []
            for ch in batch:
                cfg = by_name[ch.connector]
                if ch.connector not in conns:
                    conns[ch.connector] = server.connect(cfg.connection.database)
                conn = conns[ch.connector]
                schema = cfg.table(ch.table).schema_
                with conn.cursor() as cur:
                    cur.execute(*_sql(schema, ch))
                if conn not in touched:
                    touched.append(conn)
            for conn in touched:
                conn.commit()
            done += len(batch)
            if progress is not None:
                progress(done)
            if pause_s > 0:
                time.sleep(pause_s)
    finally:
        for conn in conns.values():
            conn.close()
    return done


def _sql(schema: str, ch: Change) -> tuple[str, list[object]]:
    target = f'"{schema}"."{ch.table}"'
    where = " AND ".join(f'"{k}" = %s' for k in ch.key)
    if ch.op == "insert":
        cols = ", ".join(f'"{c}"' for c in ch.values)
        marks = ", ".join(["%s"] * len(ch.values))
        return f"INSERT INTO {target} ({cols}) VALUES ({marks})", list(ch.values.values())
    if ch.op == "update":
        sets = ", ".join(f'"{c}" = %s' for c in ch.values)
        return f"UPDATE {target} SET {sets} WHERE {where}", [*ch.values.values(), *ch.key.values()]
    return f"DELETE FROM {target} WHERE {where}", list(ch.key.values())
