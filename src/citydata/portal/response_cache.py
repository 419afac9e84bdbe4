"""Responses that are the same for everyone who may get them, rendered once per version of the files
they come from.

A public page (dataset, search, departments) or an open dataset's rows for a role are a pure
function of the catalog, the serving copy and the policy files — and leave nothing in the audit log
(release logs restricted reads and downloads, not open reads). So they are kept, keyed by the
request (path, query, language, role, domain) and by the (inode, mtime, size) of those files; a new
publish, catalog or policy edit makes every old entry unreachable. Anything that depends on who
exactly asks (a signed-in page with its CSRF token, a grant, the owner's staff) is never cached.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from cachetools import LRUCache
from fastapi import Request
from fastapi.responses import Response

from citydata.portal.present import language
from citydata.settings import Settings


@dataclass(frozen=True)
class _Kept:
    body: bytes
    media_type: str | None
    status: int

    def response(self) -> Response:
        return Response(self.body, status_code=self.status, media_type=self.media_type)


class ResponseCache:
    def __init__(self, settings: Settings, maxsize: int = 2048) -> None:
        self.settings = settings
        self._kept: LRUCache = LRUCache(maxsize)
        self._lock = threading.Lock()
        self._building: dict[tuple, threading.Lock] = {}

    def _version(self) -> tuple:
        s = self.settings
        paths = [s.catalog_path, s.serving_path, *sorted(Path(s.circulation.policies_dir).glob("*.yaml"))]
        out = []
        for path in paths:
            try:
                st = path.stat()
                out.append((st.st_ino, st.st_mtime_ns, st.st_size))
            except FileNotFoundError:
                out.append(None)
        return tuple(out)

    def respond(self, request: Request, audience: tuple, build: Callable[[], Response]) -> Response:
        """The kept response for this request and ``audience`` (e.g. ``("public",)`` or ``(role,
        domain)``), else ``build()``'s — kept if it succeeded."""
        key = (request.url.path, str(request.url.query), language(request), str(request.base_url), audience,
               self._version())
        with self._lock:
            kept = self._kept.get(key)
            building = self._building.setdefault(key, threading.Lock()) if kept is None else None
        if kept is not None:
            return kept.response()
        with building:  # one build per key at a time: concurrent misses wait for it (no stampede)
            with self._lock:
                kept = self._kept.get(key)
            if kept is not None:
                return kept.response()
            try:
                response = build()
                if response.status_code == 200 and not response.headers.get("set-cookie"):
                    with self._lock:
                        self._kept[key] = _Kept(bytes(response.body), response.media_type, response.status_code)
            finally:
                with self._lock:
                    self._building.pop(key, None)
        return response

    def clear(self) -> None:
        with self._lock:
            self._kept.clear()
