"""One SQLite file the circulation stores keep: opened in autocommit mode (they begin their own
transactions), created with its schema, closed by ``with``. An instance is used by one caller at a
time, but not always on one thread (the portal opens one per request; FastAPI may close it on
another worker thread), hence ``check_same_thread=False``."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Self


class SqliteFile:
    def __init__(self, path: Path, schema: str):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(self.path, isolation_level=None, timeout=30, check_same_thread=False)
        self._db.executescript(schema)

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
