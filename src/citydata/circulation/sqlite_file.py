"""One SQLite file the circulation stores keep: opened in autocommit mode (they begin their own
transactions), created with its schema, closed by ``with``. An instance is used by one caller at a
time, but not always on one thread (the portal opens one per request; FastAPI may close it on
another worker thread), hence ``check_same_thread=False``. The file is in WAL mode, and its schema
is applied only when the file's ``user_version`` does not match it, so opening one costs a read."""

from __future__ import annotations

import sqlite3
import zlib
from pathlib import Path
from typing import Self


class SqliteFile:
    def __init__(self, path: Path, schema: str):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(self.path, isolation_level=None, timeout=30, check_same_thread=False)
        version = zlib.crc32(schema.encode()) & 0x7FFFFFFF
        if self._db.execute("pragma user_version").fetchone()[0] != version:
            # once per file and schema: the DDL takes the write lock, which readers need not wait for
            self._db.execute("pragma journal_mode=wal")  # readers and the writer do not block each other
            self._db.executescript(schema)
            self._db.execute(f"pragma user_version = {version}")

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
