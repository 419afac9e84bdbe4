"""The append-only audit log (存证): entries in SQLite, a signed checkpoint after every append.

Why SQLite: it is in the standard library, one file, transactional (an entry and its checkpoint
commit together), and takes appends from the CLI, the portal and Airflow tasks while others read —
the DuckDB warehouse allows one writer process at a time, and a JSON-lines file has no atomic
"append entry + checkpoint". Triggers refuse UPDATE and DELETE, but the guarantee is cryptographic,
not the triggers: each entry is a leaf of an RFC 6962 Merkle tree and every tree head is signed, so
an edit, deletion, re-ordering or truncation shows in :func:`citydata.circulation.audit_verify.verify_log`.
The newest checkpoint is also written to a witness file beside the database (what a consumer or an
external witness would keep), so cutting entries and their checkpoints off the end is caught too.
"""

from __future__ import annotations

import fcntl
import json
import os
import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from citydata.circulation.checkpoints import Checkpoint, sign_checkpoint
from citydata.circulation.merkle import CompactRange, leaf_hash
from citydata.circulation.sqlite_file import SqliteFile
from citydata.errors import CityDataError

ACTIONS = frozenset({"grant", "revoke", "request", "approve", "reject", "restricted_read", "download",
                     "extract", "refuse", "reidentify", "publish", "policy_change"})
USE_ACTIONS = frozenset({"restricted_read", "download", "extract"})  # a use of data by a consumer
DOWNLOAD_ACTIONS = frozenset({"download", "extract"})  # a copy left the platform

_SCHEMA = """
create table if not exists entries (seq integer primary key, entry text not null);
create table if not exists checkpoints (size integer primary key, note text not null);
create table if not exists edge (id integer primary key check (id = 1), size integer not null, peaks text not null);
create index if not exists entries_grant on entries (json_extract(entry, '$.detail.grant'));
create trigger if not exists entries_no_update before update on entries
  begin select raise(abort, 'the audit log is append-only'); end;
create trigger if not exists entries_no_delete before delete on entries
  begin select raise(abort, 'the audit log is append-only'); end;
"""


_writers: dict[str, threading.Lock] = {}
_writers_lock = threading.Lock()


def _writer(path: Path) -> threading.Lock:
    """One lock per log file in this process: a web server's threads append one after another."""
    with _writers_lock:
        return _writers.setdefault(str(Path(path).resolve()), threading.Lock())


def canonical(entry: dict[str, Any]) -> bytes:
    """The exact bytes that are hashed: sorted keys, no spaces, UTF-8."""
    return json.dumps(entry, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


class AuditLog(SqliteFile):
    """One log file. ``key`` signs checkpoints; a reader that only verifies needs the public key."""

    def __init__(self, path: Path, key: Ed25519PrivateKey, origin: str = "citydata.audit/v1"):
        super().__init__(path, _SCHEMA)
        self.key = key
        self.origin = origin
        self._range = CompactRange()

    @property
    def public_key(self) -> Ed25519PublicKey:
        return self.key.public_key()

    @property
    def witness_path(self) -> Path:
        return self.path.with_suffix(".checkpoint")

    def append(self, action: str, actor: str, *, consumer: str | None = None, dataset: str | None = None,
               rows: int | None = None, at: datetime | None = None, **detail: Any) -> tuple[int, Checkpoint]:
        """Append one entry and sign the new tree head, in one transaction; returns (seq, checkpoint)."""
        if action not in ACTIONS:
            raise CityDataError(f"audit action {action!r} is not one of {', '.join(sorted(ACTIONS))}")
        with _writer(self.path):  # this process's threads queue here, not in SQLite's busy-wait
            return self._append(action, actor, consumer, dataset, rows, at, detail)

    def _append(self, action: str, actor: str, consumer: str | None, dataset: str | None, rows: int | None,
                at: datetime | None, detail: dict[str, Any]) -> tuple[int, Checkpoint]:
        db = self._db
        db.execute("begin immediate")
        try:
            seq = db.execute("select coalesce(max(seq) + 1, 0) from entries").fetchone()[0]  # O(log n)
            if self._range.size != seq:  # opened anew, or another process appended
                self._range = self._edge(seq)
            entry = {"seq": seq, "at": (at or datetime.now(UTC)).isoformat(timespec="microseconds"),
                     "action": action, "actor": actor, "consumer": consumer, "dataset": dataset,
                     "rows": rows, "detail": detail}
            data = canonical(entry)
            db.execute("insert into entries (seq, entry) values (?, ?)", (seq, data.decode()))
            self._range.append(leaf_hash(data))
            db.execute("insert or replace into edge (id, size, peaks) values (1, ?, ?)",
                       (self._range.size, json.dumps(self._range.peaks())))
            checkpoint = sign_checkpoint(self.key, self.origin, self._range.size, self._range.root())
            db.execute("insert into checkpoints (size, note) values (?, ?)", (checkpoint.size, checkpoint.to_json()))
            db.execute("commit")
        except BaseException:
            db.execute("rollback")
            self._range = CompactRange()
            raise
        self._write_witness(checkpoint)
        return seq, checkpoint

    def _edge(self, size: int) -> CompactRange:
        """The tree's right edge at ``size`` entries: as the last append stored it (O(log n)), else
        rebuilt from every entry. The stored edge only speeds appends up: verification recomputes
        every root from the entries, so a forged edge shows as checkpoints that do not verify."""
        row = self._db.execute("select size, peaks from edge where id = 1").fetchone()
        if row is not None and row[0] == size:
            return CompactRange.restore(json.loads(row[1]))
        edge = CompactRange()
        for (text,) in self._db.execute("select entry from entries order by seq"):
            edge.append(leaf_hash(text.encode()))
        return edge

    def _write_witness(self, checkpoint: Checkpoint) -> None:
        """Replace the witness file with ``checkpoint`` unless it already holds a larger tree: several
        processes append to one log, and their commits can finish in another order than their witness
        writes. A lock file serialises the compare-and-replace between processes."""
        with open(self.witness_path.with_suffix(".checkpoint.lock"), "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            current = self.witness()
            if current is not None and current.size >= checkpoint.size:
                return
            tmp = self.witness_path.with_suffix(f".checkpoint.{os.getpid()}.{threading.get_ident()}.tmp")
            tmp.write_text(checkpoint.to_json(), encoding="utf-8")
            os.replace(tmp, self.witness_path)

    def raw_entries(self) -> list[tuple[int, str]]:
        """(seq, stored text) in seq order, as stored — what verification hashes."""
        return list(self._db.execute("select seq, entry from entries order by seq"))

    def grant_usage(self, grant: int) -> tuple[int, int]:
        """(rows, downloads) released under ``grant`` so far, summed from the entries themselves."""
        uses, downloads = sorted(USE_ACTIONS), sorted(DOWNLOAD_ACTIONS)
        rows, copies = self._db.execute(
            "select coalesce(sum(json_extract(entry, '$.rows')), 0),"
            f" count(*) filter (where json_extract(entry, '$.action') in ({', '.join('?' * len(downloads))}))"
            f" from entries where json_extract(entry, '$.action') in ({', '.join('?' * len(uses))})"
            " and json_extract(entry, '$.detail.grant') = ?", (*downloads, *uses, grant)).fetchone()
        return int(rows), int(copies)

    def entries(self, action: str | None = None) -> list[dict[str, Any]]:
        """Entries in seq order; only ``action``'s if given."""
        if action is None:
            return [json.loads(text) for _, text in self.raw_entries()]
        rows = self._db.execute("select entry from entries where json_extract(entry, '$.action') = ? order by seq",
                                (action,))
        return [json.loads(text) for (text,) in rows]

    def checkpoints(self) -> list[Checkpoint]:
        return [Checkpoint.from_json(note, f"checkpoint of size {size} in {self.path}")
                for size, note in self._db.execute("select size, note from checkpoints order by size")]

    def witness(self) -> Checkpoint | None:
        if not self.witness_path.exists():
            return None
        return Checkpoint.from_json(self.witness_path.read_text(encoding="utf-8"), str(self.witness_path))
