"""Publish the catalog to OpenMetadata with openmetadata-ingestion's client, or write the requests
as numbered JSON files for review (the dry run; the default when no server URL is set).

Publishing is create-or-update (PUT) throughout, so publishing the same catalog twice changes
nothing; tables and topics of the last complete publish that are gone from the catalog are
soft-deleted. Connection errors and 5xx answers are retried with exponential backoff; when the
server stays away the run stops with one line, and the next run sends only what is left
(:mod:`citydata.catalog.om_state`). The token comes only from the environment (Settings).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import re
import time
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

from citydata.catalog.om_requests import OMRequest, build_requests
from citydata.catalog.om_state import PublishState, load_state, save_state
from citydata.errors import CityDataError
from citydata.settings import Settings

T = TypeVar("T")
_MAX_DELAY_S = 60.0
_QUIET_LOGGERS = ("OMetaAPI", "Metadata", "urllib3")
_REF_TYPES = {"team": ("metadata.generated.schema.entity.teams.team", "Team"),
              "table": ("metadata.generated.schema.entity.data.table", "Table"),
              "topic": ("metadata.generated.schema.entity.data.topic", "Topic")}


def api_url(url: str) -> str:
    """The client's ``hostPort``: the server's API root, ``…/api`` (appended when missing)."""
    url = url.rstrip("/")
    return url if url.endswith("/api") else url + "/api"


def publish_catalog(settings: Settings, catalog: dict[str, Any], dry_run: bool | None = None,
                    out: Path | None = None) -> dict[str, Any]:
    """Publish ``catalog`` (or, dry, write its requests to ``out``). ``dry_run=None``: dry when
    ``CITYDATA_OPENMETADATA__URL`` is not set. Returns summary counts."""
    om = settings.openmetadata
    url = om.url or None
    dry = url is None if dry_run is None else dry_run
    requests = build_requests(catalog, partitions=settings.kafka.partitions)
    summary: dict[str, Any] = {"mode": "dry-run" if dry else "published", "requests": len(requests),
                               "kinds": dict(Counter(r.key.split(":", 1)[0] for r in requests))}
    if dry:
        target = Path(out) if out is not None else settings.var_dir / "openmetadata" / "requests"
        write_requests(requests, target)
        return {**summary, "out": str(target)}
    if url is None:
        raise CityDataError("no OpenMetadata server to publish to: set CITYDATA_OPENMETADATA__URL "
                            "(e.g. http://localhost:8585/api), or use --dry-run")
    if om.token is None or not om.token.get_secret_value():
        raise CityDataError("no OpenMetadata token: set CITYDATA_OPENMETADATA__TOKEN to a bot's JWT "
                            "(OpenMetadata → Settings → Bots → ingestion-bot)")
    publisher = Publisher(api_url(url), om.token.get_secret_value(), retries=om.retries,
                          backoff_s=om.backoff_seconds)
    state_path = settings.var_dir / "openmetadata" / "publish_state.json"
    return {**summary, **publisher.publish(requests, catalog, state_path), "state": str(state_path)}


def write_requests(requests: list[OMRequest], out: Path) -> list[Path]:
    """One file per request, ``NNNN-<kind>-<name>.json``: method, path, model and body.
    Earlier numbered files in ``out`` are removed first."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    for old in out.glob("[0-9][0-9][0-9][0-9]-*.json"):
        old.unlink()
    paths = []
    for i, r in enumerate(requests, start=1):
        kind, _, name = r.key.partition(":")
        path = out / f"{i:04d}-{kind}-{re.sub(r'[^A-Za-z0-9._-]+', '_', name)[:100]}.json"
        doc = {"key": r.key, "method": r.method, "path": "/api/v1" + r.path,
               "model": type(r.model).__name__, "body": r.body()}
        path.write_text(json.dumps(doc, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
        paths.append(path)
    return paths


def plan_digest(requests: list[OMRequest]) -> str:
    text = json.dumps([[r.key, r.method, r.path, r.body()] for r in requests], sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    """The client logs every retry and transport failure; our one-line errors say it better."""
    saved = {name: logging.getLogger(name).level for name in _QUIET_LOGGERS}
    for name in _QUIET_LOGGERS:
        logging.getLogger(name).setLevel(logging.CRITICAL)
    try:
        yield
    finally:
        for name, level in saved.items():
            logging.getLogger(name).setLevel(level)


def _status(exc: BaseException) -> int | None:
    """The HTTP status behind a client error, None for transport failures."""
    code = getattr(exc, "status_code", None)
    if code is None and getattr(exc, "response", None) is not None:
        code = exc.response.status_code  # type: ignore[attr-defined]
    if code is None:
        match = re.search(r"HTTP (\d{3})", str(exc))
        code = int(match.group(1)) if match else None
    return int(code) if code is not None else None


class Publisher:
    """Sends requests with the client; retries, resumes, resolves ids, soft-deletes."""

    def __init__(self, url: str, token: str, *, retries: int = 4, backoff_s: float = 1.0,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self.url, self.token, self.retries, self.backoff_s, self.sleep = url, token, retries, backoff_s, sleep
        self.client: Any = None
        self.progress = ""

    # -- errors and retries ------------------------------------------------------------------

    def _retrying(self, what: str, call: Callable[[], T]) -> T:
        from metadata.ingestion.ometa.client import APIError, HtmlResponseError, LimitsException, RestTransportError
        from metadata.ingestion.ometa.mixins.server_mixin import VersionNotFoundException
        from metadata.ingestion.ometa.ometa_api import EmptyPayloadException
        from requests.exceptions import RequestException

        for attempt in range(self.retries + 1):
            try:
                return call()
            except LimitsException:  # the client then refuses that path for a minute: no point retrying now
                raise CityDataError(f"OpenMetadata at {self.url} is rate-limiting (HTTP 429) {what}"
                                    f"{self.progress}: run `citydata catalog publish` again later") from None
            except HtmlResponseError:
                raise CityDataError(f"{self.url} answered {what} with an HTML page, not OpenMetadata's API: "
                                    "set CITYDATA_OPENMETADATA__URL to the API root (http://<host>:8585/api)") from None
            except EmptyPayloadException:
                raise CityDataError(f"OpenMetadata at {self.url} answered {what} with an empty body: "
                                    "is it an OpenMetadata 2.0 server?") from None
            except (APIError, RestTransportError, RequestException, VersionNotFoundException) as exc:
                code = _status(exc)
                if code in (401, 403):
                    raise CityDataError(f"OpenMetadata at {self.url} refused the token (HTTP {code}) on {what}: "
                                        "set CITYDATA_OPENMETADATA__TOKEN to a valid bot JWT") from None
                if code is not None and code < 500:
                    first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
                    raise CityDataError(f"OpenMetadata at {self.url} rejected {what} (HTTP {code}: {first}); "
                                        f"review the request with `citydata catalog publish --dry-run`") from None
                cause = f"HTTP {code}" if code else type(exc).__name__
                if attempt == self.retries:
                    raise CityDataError(
                        f"OpenMetadata at {self.url} did not answer {what} after {attempt + 1} attempts ({cause})"
                        f"{self.progress}: check the server, then run `citydata catalog publish` again") from None
                self.sleep(min(self.backoff_s * 2 ** attempt, _MAX_DELAY_S))
        raise AssertionError("unreachable")

    def connect(self) -> None:
        """Create the client; it checks the server's version (``GET /system/version``) at once."""
        from metadata.generated.schema.entity.services.connections.metadata.openMetadataConnection import (
            AuthProvider,
            OpenMetadataConnection,
        )
        from metadata.generated.schema.security.client.openMetadataJWTClientConfig import (
            OpenMetadataJWTClientConfig,
        )
        from metadata.ingestion.ometa.mixins.server_mixin import VersionMismatchException
        from metadata.ingestion.ometa.ometa_api import OpenMetadata

        config = OpenMetadataConnection(hostPort=self.url, authProvider=AuthProvider.openmetadata,
                                        securityConfig=OpenMetadataJWTClientConfig(jwtToken=self.token))
        try:  # our own retries and backoff; the client's would sleep 30 s per 504
            self.client = self._retrying("the version check", lambda: OpenMetadata(
                config, additional_client_config_arguments={"retry": 0, "retry_wait": 0, "timeout": (5, 60)}))
        except VersionMismatchException as exc:
            raise CityDataError(f"OpenMetadata at {self.url}: {str(exc).splitlines()[0]}") from None

    # -- sending -----------------------------------------------------------------------------

    def _lookup(self, entity_type: str, fqn: str) -> Any:
        module, name = _REF_TYPES[entity_type]
        cls = getattr(__import__(module, fromlist=[name]), name)
        return self._retrying(f"GET {entity_type} {fqn}", lambda: self.client.get_by_name(cls, fqn))

    def _server_id(self, state: PublishState, entity_type: str, fqn: str, where: str) -> str:
        key = f"{entity_type}:{fqn}"
        if key not in state.ids:
            found = self._lookup(entity_type, fqn) if entity_type in _REF_TYPES else None
            if found is None:
                raise CityDataError(f"{where} refers to {entity_type} {fqn!r}, which OpenMetadata at {self.url} "
                                    "does not have: publish again without a state file (delete it)")
            state.ids[key] = str(found.id.root)
        return state.ids[key]

    def _resolved(self, request: OMRequest, state: PublishState) -> Any:
        """The request with OpenMetadata's ids in every entity reference."""
        def swap(value: Any) -> Any:
            if isinstance(value, dict):
                value = {k: swap(v) for k, v in value.items()}
                if {"id", "type", "fullyQualifiedName"} <= value.keys():
                    value["id"] = self._server_id(state, value["type"], value["fullyQualifiedName"], request.key)
                return value
            if isinstance(value, list):
                return [swap(v) for v in value]
            return value

        return type(request.model).model_validate(swap(request.body()))

    def _send(self, request: OMRequest, model: Any) -> Any:
        from metadata.generated.schema.api.lineage.addLineage import AddLineageRequest
        from metadata.generated.schema.api.tests.createTestSuite import CreateTestSuiteRequest
        from metadata.generated.schema.tests.basic import TestCaseResult

        if isinstance(model, AddLineageRequest):  # the mixin's add_lineage swallows errors into a dict
            return self.client.client.put(request.path, data=model.model_dump_json())
        if isinstance(model, TestCaseResult):
            return self.client.add_test_case_results(model, request.fqn)
        if isinstance(model, CreateTestSuiteRequest):
            return self.client.create_or_update_executable_test_suite(model)
        return self.client.create_or_update(model)

    def _delete_gone(self, state: PublishState, current: dict[str, list[str]]) -> list[str]:
        """Soft-delete what the last complete publish had and this catalog has not."""
        from metadata.generated.schema.entity.data.table import Table
        from metadata.generated.schema.entity.data.topic import Topic

        deleted = []
        for entity_type, cls in (("table", Table), ("topic", Topic)):
            for fqn in sorted(set(state.published.get(entity_type, [])) - set(current.get(entity_type, []))):
                key = f"delete:{entity_type}:{fqn}"
                if key not in state.done:
                    found = self._lookup(entity_type, fqn)
                    if found is not None and not found.deleted:
                        self._retrying(f"DELETE {entity_type} {fqn}", lambda cls=cls, found=found: self.client.delete(
                            cls, found.id.root, recursive=True, hard_delete=False))
                    state.done.append(key)
                deleted.append(fqn)
        return deleted

    def publish(self, requests: list[OMRequest], catalog: dict[str, Any], state_path: Path) -> dict[str, Any]:
        """Send every request not yet answered, then soft-delete what disappeared."""
        state = load_state(state_path)
        resumed = state.start(self.url, plan_digest(requests))
        done = set(state.done)
        todo = [r for r in requests if r.key not in done]
        with _quiet():
            self.connect()
            save_state(state, state_path)
            for i, request in enumerate(todo):
                self.progress = f"; {len(requests) - len(todo) + i} of {len(requests)} requests done"
                model = self._resolved(request, state)
                answer = self._retrying(f"{request.method} {request.path} ({request.key})",
                                        lambda r=request, m=model: self._send(r, m))
                if request.entity_type and answer is not None and getattr(answer, "id", None) is not None:
                    state.ids[f"{request.entity_type}:{request.fqn}"] = str(answer.id.root)
                state.done.append(request.key)
                save_state(state, state_path)
            self.progress = f"; all {len(requests)} requests done, deletions pending"
            current = {"table": [t["fullyQualifiedName"] for t in catalog.get("tables") or []],
                       "topic": [t["fullyQualifiedName"] for t in catalog.get("topics") or []]}
            deleted = self._delete_gone(state, current)
            state.finish(current)
            save_state(state, state_path)
        return {"server": self.url, "sent": len(todo), "skipped": len(requests) - len(todo),
                "resumed": resumed, "deleted": deleted}
