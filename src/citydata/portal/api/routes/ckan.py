"""CKAN-compatible Action API (``/api/3/action/<action>``) over the catalog, GET or POST.

Every dataset (table or topic) is a CKAN package named by its FQN parts joined with ``-``; every
owning department is an organization. Responses are ``{"help", "success", "result"}``; errors are
``{"help", "success": false, "error": {"message", "__type"}}`` with 404 (Not Found Error), 409
(Validation Error) or 400 (unknown action), as CKAN answers.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from citydata.catalog.store import UnknownEntityError, all_entities, get_entity, package_name
from citydata.portal.api.deps import get_catalog
from citydata.portal.present import LAYER_LABELS, dataset_url, gate_status, lineage_url, row_count

router = APIRouter(prefix="/api/3/action", tags=["ckan"])
CKAN_VERSION = "2.10.0"
_NOT_FOUND, _INVALID = (404, "Not Found Error"), (409, "Validation Error")


class ActionError(Exception):
    def __init__(self, kind: tuple[int, str], message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.status, self.type, self.message, self.field = kind[0], kind[1], message, field


def _help(request: Request, action: str) -> str:
    return f"{request.base_url}api/3/action/help_show?name={action}"


def ckan_error(request: Request, action: str, status: int, kind: str, message: str,
               field: str | None = None) -> JSONResponse:
    error: dict[str, Any] = {"message": f"{field}: {message}" if field else message, "__type": kind}
    if field:
        error[field] = [message]
    return JSONResponse({"help": _help(request, action), "success": False, "error": error},
                        status_code=status)


async def _params(request: Request) -> dict[str, Any]:
    params: dict[str, Any] = dict(request.query_params)
    if request.method == "POST" and (await request.body()):
        try:
            body = await request.json()
        except (json.JSONDecodeError, UnicodeDecodeError):
            raise ActionError((400, "Bad Request"), "request body is not valid JSON") from None
        if isinstance(body, dict):
            params.update(body)
    return params


def _int(params: dict[str, Any], name: str, default: int, low: int = 0, high: int = 1000) -> int:
    raw = params.get(name, default)
    try:
        value = int(raw)
    except (TypeError, ValueError):
        raise ActionError(_INVALID, "Invalid integer", name) from None
    if not low <= value <= high:
        raise ActionError(_INVALID, f"must be between {low} and {high}", name)
    return value


def organization(team: dict[str, Any]) -> dict[str, Any]:
    return {"id": team["id"], "name": team["name"], "title": team.get("displayName") or team["name"],
            "display_name": team.get("displayName") or team["name"],
            "description": team.get("description") or "", "type": "organization",
            "is_organization": True, "state": "active", "approval_status": "approved"}


def package(entity: dict[str, Any], catalog: dict[str, Any], base_url: str) -> dict[str, Any]:
    """A CKAN package dict for a catalog entity."""
    ext = entity.get("extension") or {}
    owner = (entity.get("owners") or [None])[0]
    team = next((t for t in catalog.get("teams") or [] if owner and t["name"] == owner["name"]), None)
    tags = [t["tagFQN"] for t in entity.get("tags") or []]
    tags += sorted({t["tagFQN"] for c in entity.get("columns") or [] for t in c.get("tags") or []})
    base = base_url.rstrip("/")
    resources = [
        {"name": "数据集页面 / Dataset page", "format": "HTML", "url": base + dataset_url(entity["fullyQualifiedName"])},
        {"name": "血缘 / Lineage", "format": "JSON", "url": base + lineage_url(entity["fullyQualifiedName"])},
    ]
    for i, res in enumerate(resources):
        res.update(id=str(uuid.uuid5(uuid.UUID(entity["id"]), str(i))), package_id=entity["id"],
                   description="", position=i, state="active")
    extras = {"fullyQualifiedName": entity["fullyQualifiedName"], "entityType": entity["entityType"],
              "layer": ext.get("layer"), "base_library": ext.get("baseLibrary"),
              "row_count": row_count(entity), "gate_status": gate_status(entity)}
    layer_zh = LAYER_LABELS.get(str(ext.get("layer")), ("", ""))[0]
    return {
        "id": entity["id"], "name": package_name(entity), "title": entity.get("displayName") or entity["name"],
        "notes": entity.get("description") or "", "type": "dataset", "state": "active", "private": False,
        "owner_org": team["id"] if team else None, "organization": organization(team) if team else None,
        "maintainer": team.get("displayName") if team else None, "author": None,
        "license_id": "notspecified", "url": base + dataset_url(entity["fullyQualifiedName"]),
        "version": None, "metadata_created": catalog.get("generatedAt"),
        "metadata_modified": catalog.get("generatedAt"),
        "tags": [{"name": t, "display_name": t, "state": "active"} for t in dict.fromkeys(tags)],
        "num_tags": len(dict.fromkeys(tags)), "resources": resources, "num_resources": len(resources),
        "groups": [{"name": ext.get("layer"), "title": layer_zh}] if ext.get("layer") else [],
        "extras": [{"key": k, "value": "" if v is None else str(v)} for k, v in extras.items()],
    }


def _matches(pkg: dict[str, Any], terms: list[str], filters: list[tuple[str, str]]) -> bool:
    org = (pkg.get("organization") or {}).get("name") or ""
    tags = [t["name"].lower() for t in pkg["tags"]]
    for key, value in filters:
        extras = {e["key"]: e["value"] for e in pkg["extras"]}
        if key == "organization" and org != value:
            return False
        if key == "tags" and value.lower() not in tags:
            return False
        if key in ("layer", "base_library", "gate_status") and extras.get(key) != value:
            return False
    text = " ".join([pkg["name"], pkg["title"], pkg["notes"], org, *tags,
                     next(e["value"] for e in pkg["extras"] if e["key"] == "fullyQualifiedName")]).lower()
    return all(t in text for t in terms)


def _search(params: dict[str, Any], packages: list[dict[str, Any]]) -> dict[str, Any]:
    rows, start = _int(params, "rows", 10), _int(params, "start", 0, high=10**9)
    q = str(params.get("q") or "").strip()
    terms = [] if q in ("", "*:*") else [t.lower() for t in q.split()]
    filters = [tuple(f.split(":", 1)) for f in str(params.get("fq") or "").split() if ":" in f]
    found = [p for p in packages if _matches(p, terms, [(k, v.strip('"')) for k, v in filters])]
    found.sort(key=lambda p: p["name"])
    return {"count": len(found), "results": found[start:start + rows], "sort": "name asc",
            "facets": {}, "search_facets": {}}


def _run(action: str, params: dict[str, Any], catalog: dict[str, Any], base_url: str) -> Any:
    entities = all_entities(catalog)
    teams = catalog.get("teams") or []
    if action == "package_list":
        names = sorted(package_name(e) for e in entities)
        limit = _int(params, "limit", len(names), high=max(len(names), 1))
        offset = _int(params, "offset", 0, high=10**9)
        return names[offset:offset + limit]
    if action == "package_show":
        key = params.get("id") or params.get("name_or_id")
        if not key:
            raise ActionError(_INVALID, "Missing value", "id")
        try:
            return package(get_entity(catalog, str(key)), catalog, base_url)
        except UnknownEntityError:
            raise ActionError(_NOT_FOUND, "Not found: no dataset with that id or name") from None
    if action == "package_search":
        return _search(params, [package(e, catalog, base_url) for e in entities])
    if action == "organization_list":
        owned = {(e.get("owners") or [{}])[0].get("name") for e in entities}
        orgs = sorted((t for t in teams if t["name"] in owned), key=lambda t: t["name"])
        all_fields = str(params.get("all_fields", "false")).lower() in ("true", "1", "yes")
        return [organization(t) for t in orgs] if all_fields else [t["name"] for t in orgs]
    if action == "organization_show":
        key = params.get("id")
        if not key:
            raise ActionError(_INVALID, "Missing value", "id")
        team = next((t for t in teams if key in (t["name"], t["id"])), None)
        if team is None:
            raise ActionError(_NOT_FOUND, "Not found: Organization was not found")
        org = organization(team)
        org["package_count"] = sum(1 for e in entities if (e.get("owners") or [{}])[0].get("name") == team["name"])
        return org
    raise KeyError(action)


ACTIONS = ("package_list", "package_show", "package_search", "organization_list",
           "organization_show", "status_show", "help_show")


@router.api_route("/{action}", methods=["GET", "POST"])
async def action(action: str, request: Request) -> JSONResponse:
    """Dispatch one CKAN action."""
    try:
        params = await _params(request)
        if action not in ACTIONS:
            return ckan_error(request, action, 400, "Bad Request", f"Action name not known: {action}")
        if action == "status_show":
            result: Any = {"ckan_version": CKAN_VERSION, "site_title": "城市公共数据开放平台 citydata",
                           "site_description": "City data bureau catalog", "site_url": str(request.base_url).rstrip("/"),
                           "extensions": ["citydata-catalog"], "locale_default": "zh_Hans_CN"}
        elif action == "help_show":
            name = str(params.get("name") or "")
            if name not in ACTIONS:
                raise ActionError(_NOT_FOUND, f"Action function not found: {name}")
            result = f"CKAN action {name} (citydata): see https://docs.ckan.org/en/2.10/api/"
        else:
            catalog = get_catalog(request)
            result = _run(action, params, catalog, str(request.base_url))
    except ActionError as exc:
        return ckan_error(request, action, exc.status, exc.type, exc.message, exc.field)
    return JSONResponse({"help": _help(request, action), "success": True, "result": result})

