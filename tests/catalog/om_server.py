"""A small stand-in for an OpenMetadata server: just the endpoints the publisher uses, with
OpenMetadata's rules where they matter to a client — FQNs built from the parent's FQN, references
that must exist (404 otherwise), create-or-update PUT (201 created / 200 updated, the version bumped
only when something changed), soft delete, lineage edges keyed by their ends, test case results
keyed by timestamp, a bearer token. Every request is recorded.

Runs a stdlib ``ThreadingHTTPServer`` on a free port in a thread.
"""

from __future__ import annotations

import json
import re
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

API = "/api/v1"
_ENTITY_LINK = re.compile(r"^<#E::table::(?P<table>.+?)(?:::columns::(?P<column>[^>]+))?>$")


def _quote(name: str) -> str:
    return f'"{name}"' if "." in name else name


@dataclass
class Recorded:
    method: str
    path: str  # without /api/v1 and without the query
    query: dict[str, str]
    body: Any


class NotFound(Exception):
    pass


# collection path → (entity type, parent field, parent type, ref type of the parent field in the entity)
_COLLECTIONS: dict[str, tuple[str, str | None, str | None]] = {
    "teams": ("team", None, None),
    "classifications": ("classification", None, None),
    "tags": ("tag", "classification", "classification"),
    "services/databaseServices": ("databaseService", None, None),
    "services/messagingServices": ("messagingService", None, None),
    "databases": ("database", "service", "databaseService"),
    "databaseSchemas": ("databaseSchema", "database", "database"),
    "tables": ("table", "databaseSchema", "databaseSchema"),
    "topics": ("topic", "service", "messagingService"),
    "dataQuality/testDefinitions": ("testDefinition", None, None),
    "dataQuality/testSuites": ("testSuite", None, None),
    "dataQuality/testCases": ("testCase", None, None),
}
_TYPE_COLLECTION = {t: c for c, (t, _, _) in _COLLECTIONS.items()}
SYSTEM_TAGS = ("PII.Sensitive", "PII.NonSensitive", "PII.None")


class FakeOpenMetadata:
    def __init__(self, token: str = "test-token", version: str = "2.0.3") -> None:
        self.token, self.version = token, version
        self.entities: dict[str, dict[str, dict]] = {t: {} for t in _TYPE_COLLECTION}
        self.requests_made: dict[str, dict] = {}  # "<type>:<fqn>" → the last request body
        self.lineage: dict[tuple[str, str], dict] = {}
        self.results: dict[tuple[str, int], dict] = {}
        self.recorded: list[Recorded] = []
        # (method, path) → HTTP status to fail with, or None to answer normally
        self.fail: Callable[[str, str], int | None] = lambda method, path: None
        self.lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self.url = ""
        self._put("classification", "PII", {"name": "PII", "description": "system"})
        for tag in SYSTEM_TAGS:
            self._put("tag", tag, {"name": tag.split(".")[1], "description": "system",
                                   "classification": self._ref("classification", "PII")})

    # -- lifecycle ---------------------------------------------------------------------------

    def start(self) -> str:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True  # else each answer waits ~40 ms for a delayed ACK

            def log_message(self, *args: Any) -> None:
                pass

            def _handle(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                status, payload = fake.handle(self.command, self.path, raw, self.headers.get("Authorization"))
                data = b"" if payload is None else json.dumps(payload).encode("utf-8")
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_PUT = do_POST = do_DELETE = _handle

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}/api"
        return self.url

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    # -- state -------------------------------------------------------------------------------

    def _ref(self, entity_type: str, fqn: str) -> dict[str, Any]:
        entity = self.entities[entity_type].get(fqn)
        if entity is None or entity.get("deleted"):
            raise NotFound(f"{entity_type} instance for {fqn} not found")
        return {"id": entity["id"], "type": entity_type, "name": entity["name"], "fullyQualifiedName": fqn}

    def _by_id(self, entity_id: str) -> tuple[str, dict]:
        for entity_type, items in self.entities.items():
            for entity in items.values():
                if entity["id"] == entity_id and not entity.get("deleted"):
                    return entity_type, entity
        raise NotFound(f"entity {entity_id} not found")

    def _put(self, entity_type: str, fqn: str, entity: dict[str, Any], request: Any = None) -> tuple[int, dict]:
        items = self.entities[entity_type]
        old = items.get(fqn)
        key = f"{entity_type}:{fqn}"
        if old is None:
            items[fqn] = {**entity, "id": str(uuid.uuid4()), "fullyQualifiedName": fqn, "version": 0.1,
                          "deleted": False}
            self.requests_made[key] = request
            return 201, items[fqn]
        if self.requests_made.get(key) != request or old.get("deleted"):
            old.update({**entity, "version": round(old["version"] + 0.1, 1), "deleted": False})
            self.requests_made[key] = request
        return 200, old

    def _check_tags(self, labels: list[dict] | None) -> None:
        for label in labels or []:
            self._ref("tag", label["tagFQN"])

    def _check_fields(self, fields: list[dict] | None) -> None:
        for f in fields or []:
            self._check_tags(f.get("tags"))
            self._check_fields(f.get("children"))

    def _check_owners(self, owners: list[dict] | None) -> None:
        for owner in owners or []:
            entity_type, _ = self._by_id(owner["id"])
            if entity_type != owner["type"]:
                raise NotFound(f"{owner['type']} {owner['id']} not found")

    def _upsert(self, collection: str, body: dict[str, Any]) -> tuple[int, dict]:
        entity_type, parent_field, parent_type = _COLLECTIONS[collection]
        entity = dict(body)
        if parent_field:
            parent = self._ref(parent_type, body[parent_field])
            entity[parent_field] = parent
            fqn = f"{body[parent_field]}.{_quote(body['name'])}"
        else:
            fqn = _quote(body["name"])
        if entity_type == "databaseSchema":
            entity["service"] = self.entities["database"][body["database"]]["service"]
        if entity_type in ("table", "topic"):
            self._check_owners(body.get("owners"))
            self._check_tags(body.get("tags"))
            self._check_fields(body.get("columns"))
            self._check_fields((body.get("messageSchema") or {}).get("schemaFields"))
        if entity_type == "testSuite":
            entity["basicEntityReference"] = self._ref("table", body["basicEntityReference"])
            entity["basic"] = True
            fqn = body["name"]
        if entity_type == "testCase":
            link = _ENTITY_LINK.match(body["entityLink"])
            if link is None:
                raise ValueError(f"bad entityLink {body['entityLink']}")
            table = self.entities["table"].get(link["table"])
            self._ref("table", link["table"])
            if link["column"] and link["column"] not in {c["name"] for c in table["columns"]}:
                raise NotFound(f"column {link['column']} not found")
            entity["testDefinition"] = self._ref("testDefinition", body["testDefinition"])
            suite = f"{link['table']}.testSuite"
            entity["testSuite"] = self._ref("testSuite", suite)
            fqn = ".".join([link["table"], *([_quote(link["column"])] if link["column"] else []), _quote(body["name"])])
        return self._put(entity_type, fqn, entity, body)

    # -- HTTP --------------------------------------------------------------------------------

    def handle(self, method: str, target: str, raw: bytes, auth: str | None) -> tuple[int, Any]:
        parts = urlsplit(target)
        path = parts.path.removeprefix(API)
        query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
        body = json.loads(raw) if raw else None
        with self.lock:
            self.recorded.append(Recorded(method, path, query, body))
            if auth != f"Bearer {self.token}":
                return 401, {"code": 401, "message": "Not authorized; token is invalid"}
            failure = self.fail(method, path)
            if failure:
                return failure, {"code": failure, "message": "server unavailable"}
            try:
                return self._route(method, path, query, body)
            except NotFound as exc:
                return 404, {"code": 404, "message": str(exc)}
            except (KeyError, ValueError) as exc:
                return 400, {"code": 400, "message": f"invalid request: {exc}"}

    def _route(self, method: str, path: str, query: dict, body: Any) -> tuple[int, Any]:
        if method == "GET" and path == "/system/version":
            return 200, {"version": self.version, "revision": "fake", "timestamp": 0}
        if method == "PUT" and path == "/lineage":
            edge = body["edge"]
            self._by_id(edge["fromEntity"]["id"])
            self._by_id(edge["toEntity"]["id"])
            self.lineage[(edge["fromEntity"]["id"], edge["toEntity"]["id"])] = edge.get("lineageDetails") or {}
            return 200, None
        if method == "POST" and path.startswith("/dataQuality/testCases/testCaseResults/"):
            fqn = unquote(path.rsplit("/", 1)[1])
            self._ref("testCase", fqn)
            self.results[(fqn, body["timestamp"])] = body
            return 200, body
        if method == "PUT" and path == "/dataQuality/testSuites/executable":
            return self._upsert("dataQuality/testSuites", body)
        if method == "PUT" and path.lstrip("/") in _COLLECTIONS:
            return self._upsert(path.lstrip("/"), body)
        for collection, (entity_type, _, _) in _COLLECTIONS.items():
            prefix = f"/{collection}/"
            if not path.startswith(prefix):
                continue
            rest = path.removeprefix(prefix)
            if method == "GET" and rest.startswith("name/"):
                fqn = unquote(rest.removeprefix("name/"))
                entity = self.entities[entity_type].get(fqn)
                if entity is None or (entity["deleted"] and query.get("include") != "all"):
                    raise NotFound(f"{entity_type} instance for {fqn} not found")
                return 200, entity
            if method == "DELETE":
                found_type, entity = self._by_id(rest)
                if found_type != entity_type:
                    raise NotFound(f"{entity_type} {rest} not found")
                entity["deleted"], entity["version"] = True, round(entity["version"] + 0.1, 1)
                return 200, entity
        return 404, {"code": 404, "message": f"no route {method} {path}"}

    # -- helpers for tests -------------------------------------------------------------------

    def writes(self) -> list[Recorded]:
        """Recorded PUT / POST / DELETE requests, in order."""
        return [r for r in self.recorded if r.method != "GET"]

    def snapshot(self) -> dict[str, Any]:
        """Everything the server holds, for before/after comparisons."""
        return json.loads(json.dumps({"entities": self.entities, "lineage": sorted(map(list, self.lineage)),
                                      "results": sorted(map(list, self.results))}))
