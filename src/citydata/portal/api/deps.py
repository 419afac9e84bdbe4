"""The catalog dependency: reads the catalog JSON, cached until the file's mtime or size changes.

A re-run of ``make demo`` rewrites the file atomically; the next request sees the new catalog.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Annotated, Any

from fastapi import Depends, Request

from citydata.catalog.store import read_catalog
from citydata.errors import CityDataError


class CatalogUnavailable(CityDataError):
    """No catalog file yet (or an unreadable one): the portal says to run ``make demo``."""


class CatalogStore:
    """Holds the catalog path and the last catalog read from it."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._key: tuple[int, int] | None = None
        self._catalog: dict[str, Any] | None = None
        self._lock = threading.Lock()

    def get(self) -> dict[str, Any]:
        try:
            stat = self.path.stat()
        except FileNotFoundError:
            raise CatalogUnavailable(f"no catalog at {self.path}: run `make demo` first") from None
        key = (stat.st_mtime_ns, stat.st_size)
        with self._lock:
            if key != self._key or self._catalog is None:
                try:
                    self._catalog = read_catalog(self.path)
                except CityDataError as exc:
                    raise CatalogUnavailable(str(exc)) from None
                self._key = key
            return self._catalog


def get_catalog(request: Request) -> dict[str, Any]:
    """FastAPI dependency: the current catalog (raises :class:`CatalogUnavailable`)."""
    store: CatalogStore = request.app.state.catalog_store
    return store.get()


Catalog = Annotated[dict[str, Any], Depends(get_catalog)]
