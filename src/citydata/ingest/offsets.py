"""Durable connector offsets: one JSON file per connector, replaced atomically.

Written only after the events up to that position are acknowledged by Kafka.
"""

from __future__ import annotations

import json
import os
from pathlib import Path


class OffsetStore:
    def __init__(self, directory: Path):
        self.directory = directory

    def _path(self, connector: str) -> Path:
        return self.directory / f"{connector}.json"

    def load(self, connector: str) -> dict:
        path = self._path(connector)
        if not path.exists():
            return {}
        return json.loads(path.read_text(encoding="utf-8"))

    def save(self, connector: str, offset: dict) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        path = self._path(connector)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(offset, indent=2), encoding="utf-8")
        with open(tmp, "rb") as f:
            os.fsync(f.fileno())
        os.replace(tmp, path)

    def clear(self, connector: str) -> None:
        self._path(connector).unlink(missing_ok=True)
