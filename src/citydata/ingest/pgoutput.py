"""Decoder for PostgreSQL's built-in ``pgoutput`` logical replication protocol (version 1).

Turns the binary messages of a replication stream into Begin/Commit/Relation/Change objects with
values in PostgreSQL's text format, converted to JSON types by :func:`convert_value`.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field

PG_EPOCH_MS = 946_684_800_000  # 2000-01-01 in Unix milliseconds

_INT_OIDS = {20, 21, 23, 26}
_FLOAT_OIDS = {700, 701}
_BOOL_OID = 16


def convert_value(text: str | None, type_oid: int) -> object:
    """PostgreSQL text output → JSON value: integers, floats and booleans typed; the rest kept as text."""
    if text is None:
        return None
    if type_oid in _INT_OIDS:
        return int(text)
    if type_oid in _FLOAT_OIDS:
        return float(text)
    if type_oid == _BOOL_OID:
        return text in ("t", "true")  # output format prints t, a ::text cast prints true
    return text


@dataclass
class Relation:
    relid: int
    schema: str
    table: str
    columns: list[tuple[str, int, bool]]  # name, type oid, is part of replica identity key


@dataclass
class Begin:
    final_lsn: int
    commit_ts_ms: int
    xid: int


@dataclass
class Commit:
    commit_lsn: int
    end_lsn: int
    commit_ts_ms: int


@dataclass
class Change:
    op: str  # c, u, d
    relation: Relation
    before: dict | None
    after: dict | None
    unchanged_toast: list[str] = field(default_factory=list)


@dataclass
class Truncate:
    relations: list[Relation]


class _Reader:
    def __init__(self, data: bytes):
        self.data, self.pos = data, 0

    def take(self, fmt: str):
        size = struct.calcsize(fmt)
        vals = struct.unpack_from(fmt, self.data, self.pos)
        self.pos += size
        return vals[0] if len(vals) == 1 else vals

    def cstring(self) -> str:
        end = self.data.index(b"\x00", self.pos)
        s = self.data[self.pos:end].decode("utf-8")
        self.pos = end + 1
        return s

    def tuple_data(self, rel: Relation) -> tuple[dict, list[str]]:
        ncols = self.take("!h")
        row: dict = {}
        toast: list[str] = []
        for i in range(ncols):
            name, oid, _ = rel.columns[i]
            kind = self.take("!c")
            if kind == b"n":
                row[name] = None
            elif kind == b"u":
                toast.append(name)
            elif kind in (b"t", b"b"):
                length = self.take("!i")
                raw = self.data[self.pos:self.pos + length]
                self.pos += length
                row[name] = convert_value(raw.decode("utf-8"), oid) if kind == b"t" else raw.hex()
            else:
                raise ValueError(f"unknown tuple column kind {kind!r}")
        return row, toast


class PgOutputDecoder:
    """Stateful: remembers Relation messages so later changes can name their columns."""

    def __init__(self) -> None:
        self.relations: dict[int, Relation] = {}

    def decode(self, payload: bytes) -> Begin | Commit | Relation | Change | Truncate | None:
        r = _Reader(payload)
        tag = r.take("!c")
        if tag == b"B":
            lsn, ts, xid = r.take("!qqI")
            return Begin(lsn, PG_EPOCH_MS + ts // 1000, xid)
        if tag == b"C":
            _flags, commit_lsn, end_lsn, ts = r.take("!bqqq")
            return Commit(commit_lsn, end_lsn, PG_EPOCH_MS + ts // 1000)
        if tag == b"R":
            relid = r.take("!I")
            schema, table = r.cstring(), r.cstring()
            _identity = r.take("!b")
            cols = []
            for _ in range(r.take("!h")):
                flags = r.take("!b")
                name = r.cstring()
                oid, _typmod = r.take("!Ii")
                cols.append((name, oid, bool(flags & 1)))
            rel = Relation(relid, schema, table, cols)
            self.relations[relid] = rel
            return rel
        if tag == b"I":
            rel = self.relations[r.take("!I")]
            r.take("!c")  # 'N'
            after, toast = r.tuple_data(rel)
            return Change("c", rel, None, after, toast)
        if tag == b"U":
            rel = self.relations[r.take("!I")]
            before = None
            kind = r.take("!c")
            if kind in (b"K", b"O"):
                before, _ = r.tuple_data(rel)
                kind = r.take("!c")
            after, toast = r.tuple_data(rel)
            if before is not None and toast:
                for name in toast:  # unchanged TOASTed value: carry it from the old image when we have it
                    if before.get(name) is not None:
                        after[name] = before[name]
            return Change("u", rel, before, after, toast)
        if tag == b"D":
            rel = self.relations[r.take("!I")]
            r.take("!c")  # 'K' or 'O'
            before, _ = r.tuple_data(rel)
            return Change("d", rel, before, None)
        if tag == b"T":
            n = r.take("!i")
            r.take("!b")
            ids = [r.take("!I") for _ in range(n)]
            return Truncate([self.relations[i] for i in ids if i in self.relations])
        return None  # Origin, Type, Message: nothing to emit
