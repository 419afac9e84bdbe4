"""CKAN-compatible Action API (``/api/3/action/<action>``, and ``/api/action/<action>`` as CKAN
clients such as ``ckanapi`` call it), GET or POST, for CKAN clients and harvesters.

Every dataset (table or topic) is a CKAN package named by its FQN parts joined with ``-``; every
owning department is an organization; base libraries (and, outside the marts, pipeline layers) are
groups. A dataset with published rows has CSV / JSON / Parquet resources — the CSV one
``datastore_active`` — and ``datastore_search`` pages its rows through the circulation gate for the
caller, exactly as the data API does. Responses are ``{"help", "success", "result"}``; errors are
``{"help", "success": false, "error": {"message", "__type"}}`` with 404 (Not Found Error), 409
(Validation Error), 403 / 401 (Authorization Error), 429 (with Retry-After) or 400 (unknown action),
as CKAN answers. API keys as CKAN clients send them (``Authorization: <key>``, ``X-CKAN-API-Key``)
or as the data API takes them (``X-API-Key``, ``Authorization: Bearer``). Every call counts against
the caller's rate limit.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from citydata.catalog.entities import LAYER_LABELS, LIBRARY_LABELS
from citydata.catalog.store import UnknownEntityError, all_entities, package_name
from citydata.circulation.grants import Actor
from citydata.errors import CityDataError
from citydata.portal.access import OPENNESS_LABELS, AccessRefused
from citydata.portal.api.deps import CatalogUnavailable, get_catalog
from citydata.portal.auth import Viewer, now, rate_limited, resolve_viewer, settings_of
from citydata.portal.distribution import Listing, download_links, listings, page_link
from citydata.portal.formats import FORMATS, field_types, records, typed
from citydata.portal.listing import category_of
from citydata.portal.present import gate_status, licence_of, lineage_url, row_count
from citydata.portal.rows import NotPublished, Selection, find_dataset, select_rows
from citydata.portal.serving import ServingStore
from citydata.settings import Settings

router = APIRouter(tags=["CKAN Action API"])
CKAN_VERSION = "2.10.0"
_NOT_FOUND, _INVALID = (404, "Not Found Error"), (409, "Validation Error")
_KINDS = {401: "Authorization Error", 403: "Authorization Error", 404: "Not Found Error", 429: "Rate Limit Error"}


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


def _flag(params: dict[str, Any], name: str) -> bool:
    return str(params.get(name, "false")).lower() in ("true", "1", "yes")


def organization(team: dict[str, Any]) -> dict[str, Any]:
    return {"id": team["id"], "name": team["name"], "title": team.get("displayName") or team["name"],
            "display_name": team.get("displayName") or team["name"],
            "description": team.get("description") or "", "type": "organization",
            "is_organization": True, "state": "active", "approval_status": "approved"}


def group(name: str, count: int | None = None) -> dict[str, Any]:
    zh, en = LIBRARY_LABELS.get(name) or LAYER_LABELS.get(name) or (name, name)
    found = {"id": str(uuid.uuid5(uuid.NAMESPACE_URL, f"urn:citydata:group:{name}")), "name": name,
             "title": zh, "display_name": zh, "description": en, "type": "group", "is_organization": False,
             "state": "active", "approval_status": "approved"}
    if count is not None:
        found["package_count"] = count
    return found


def _resource(entity: dict[str, Any], kind: str, position: int, **fields: Any) -> dict[str, Any]:
    return {"id": resource_id(entity, kind), "package_id": entity["id"], "position": position, "state": "active",
            "description": "", "datastore_active": False, **fields}


def resource_id(entity: dict[str, Any], kind: str) -> str:
    return str(uuid.uuid5(uuid.UUID(entity["id"]), kind))


_DOWNLOAD_NAMES = {"csv": "CSV 下载 / CSV download (UTF-8)", "json": "JSON 下载 / JSON download",
                   "parquet": "Parquet 下载 / Parquet download"}


def package(listing: Listing, catalog: dict[str, Any], base_url: str) -> dict[str, Any]:
    """A CKAN package dict for a catalog entity."""
    entity = listing.entity
    ext = entity.get("extension") or {}
    team = listing.team
    tags = [t["tagFQN"] for t in entity.get("tags") or []]
    tags += sorted({t["tagFQN"] for c in entity.get("columns") or [] for t in c.get("tags") or []})
    base = base_url.rstrip("/")
    fqn = listing.fqn
    resources = [
        _resource(entity, "page", 0, name="数据集页面 / Dataset page", format="HTML", mimetype="text/html",
                  url=page_link(base, fqn)),
        _resource(entity, "lineage", 1, name="血缘 / Lineage", format="JSON", mimetype="application/json",
                  url=base + lineage_url(fqn)),
    ]
    if listing.table:
        for fmt, url in download_links(base, fqn).items():
            resources.append(_resource(
                entity, fmt, len(resources), name=_DOWNLOAD_NAMES[fmt], format=fmt.upper(),
                mimetype=FORMATS[fmt].split(";")[0], url=url, datastore_active=fmt == "csv",
                last_modified=listing.updated,
                description=f"{OPENNESS_LABELS[listing.openness][0]} / {OPENNESS_LABELS[listing.openness][1]}"))
    licence = licence_of(listing.openness)
    extras = {"fullyQualifiedName": fqn, "entityType": entity["entityType"], "dataset_name": listing.name,
              "layer": ext.get("layer"), "base_library": ext.get("baseLibrary"), "openness": listing.openness,
              "row_count": row_count(entity), "gate_status": gate_status(entity)}
    name = category_of(entity)
    unique_tags = list(dict.fromkeys(tags))
    return {
        "id": entity["id"], "name": package_name(entity), "title": listing.title_zh,
        "notes": entity.get("description") or "", "type": "dataset", "state": "active", "private": False,
        "owner_org": team["id"] if team else None, "organization": organization(team) if team else None,
        "maintainer": team.get("displayName") if team else None, "author": None,
        "license_id": licence["id"] if licence else "other-closed",
        "license_title": f"{licence['zh']} / {licence['en']}" if licence else "不予开放 / Not open",
        "url": page_link(base, fqn), "version": None,
        "metadata_created": catalog.get("generatedAt"), "metadata_modified": listing.updated,
        "tags": [{"name": t, "display_name": t, "state": "active"} for t in unique_tags],
        "num_tags": len(unique_tags), "resources": resources, "num_resources": len(resources),
        "groups": [{k: v for k, v in group(name).items() if k in ("id", "name", "title", "display_name")}]
        if name else [],
        "extras": [{"key": k, "value": "" if v is None else str(v)} for k, v in extras.items()],
    }


def _matches(pkg: dict[str, Any], terms: list[str], filters: list[tuple[str, str]]) -> bool:
    org = (pkg.get("organization") or {}).get("name") or ""
    tags = [t["name"].lower() for t in pkg["tags"]]
    extras = {e["key"]: e["value"] for e in pkg["extras"]}
    for key, value in filters:
        if key == "organization" and org != value:
            return False
        if key == "groups" and value not in {g["name"] for g in pkg["groups"]}:
            return False
        if key == "tags" and value.lower() not in tags:
            return False
        if key == "res_format" and value.upper() not in {r["format"] for r in pkg["resources"]}:
            return False
        if key == "license_id" and pkg["license_id"] != value:
            return False
        if key in ("layer", "base_library", "gate_status", "openness") and extras.get(key) != value:
            return False
    text = " ".join([pkg["name"], pkg["title"], pkg["notes"], org, *tags, extras["fullyQualifiedName"]]).lower()
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


@dataclass
class _Call:
    """One action call: what it reads and who asks."""

    settings: Settings
    serving: ServingStore
    catalog: dict[str, Any]
    base_url: str
    actor: Actor
    now: datetime

    def listings(self) -> list[Listing]:
        return listings(self.settings, self.serving, self.catalog)

    def packages(self) -> list[dict[str, Any]]:
        return [package(x, self.catalog, self.base_url) for x in self.listings()]


def _lookup(call: _Call, key: str) -> Listing:
    """The listing a package id / name / FQN / dataset name, or one of its resource ids, names."""
    try:
        entity = find_dataset(call.catalog, key)
    except UnknownEntityError:
        kinds = ("csv", "json", "parquet", "page", "lineage")
        entity = next((e for e in all_entities(call.catalog) if key in {resource_id(e, k) for k in kinds}), None)
        if entity is None:
            raise ActionError(_NOT_FOUND, f"Not found: no dataset or resource {key!r}") from None
    return listings(call.settings, call.serving, call.catalog, [entity])[0]


def _filters(raw: Any) -> dict[str, str]:
    if raw in (None, ""):
        return {}
    if isinstance(raw, str):
        try:
            raw = json.loads(raw)
        except json.JSONDecodeError:
            raise ActionError(_INVALID, "Cannot parse JSON", "filters") from None
    if not isinstance(raw, dict):
        raise ActionError(_INVALID, "Not a JSON object", "filters")
    out = {}
    for column, value in raw.items():
        if isinstance(value, list | dict):
            raise ActionError(_INVALID, f"one value per column ({column})", "filters")
        out[str(column)] = str(value).lower() if isinstance(value, bool) else str(value)
    return out


def _names(raw: Any, field: str) -> list[str]:
    if raw in (None, ""):
        return []
    if isinstance(raw, str):
        return [n.strip() for n in raw.split(",") if n.strip()]
    if isinstance(raw, list) and all(isinstance(n, str) for n in raw):
        return raw
    raise ActionError(_INVALID, "Not a list of names", field)


def _sort(raw: Any) -> tuple[str | None, bool]:
    names = _names(raw, "sort")
    if not names:
        return None, False
    if len(names) > 1:
        raise ActionError(_INVALID, "sort on one column only", "sort")
    column, _, direction = names[0].partition(" ")
    if direction.strip().lower() not in ("", "asc", "desc"):
        raise ActionError(_INVALID, f"unknown direction {direction!r}: asc or desc", "sort")
    return column.strip('"'), direction.strip().lower() == "desc"


def datastore_search(call: _Call, params: dict[str, Any]) -> dict[str, Any]:
    key = params.get("resource_id") or params.get("id")
    if not key:
        raise ActionError(_INVALID, "Missing value", "resource_id")
    listing = _lookup(call, str(key))
    limit = _int(params, "limit", 100, high=call.settings.portal.page_size_max)
    offset = _int(params, "offset", 0, high=10**9)
    q = params.get("q")
    if q is not None and not isinstance(q, str):
        raise ActionError(_INVALID, "full-text search takes a string (use filters per column)", "q")
    order_by, descending = _sort(params.get("sort"))
    grant = _int(params, "grant", 0, high=2**31) if params.get("grant") not in (None, "") else None
    selection = Selection(_filters(params.get("filters")), q=(q or "").strip() or None, order_by=order_by,
                          descending=descending)
    page = select_rows(call.settings, call.serving, listing.entity, call.actor, now=call.now, selection=selection,
                       limit=limit, offset=offset, purpose=params.get("purpose") or None, grant_id=grant)
    frame = typed(page.rows, listing.entity)
    wanted = _names(params.get("fields"), "fields")
    missing = [f for f in wanted if f not in frame.columns]
    if missing:
        raise ActionError(_INVALID, f"not released to you or no such field: {', '.join(missing)}; "
                          f"fields: {', '.join(frame.columns)}", "fields")
    if wanted:
        frame = frame[wanted]
    link = {k: v if isinstance(v, str) else json.dumps(v, ensure_ascii=False)
            for k, v in params.items() if k != "offset" and v not in (None, "")}
    start = "/api/3/action/datastore_search?" + urlencode(link)
    links = {"start": start}
    if offset + limit < page.total:
        links["next"] = start + "&" + urlencode({"offset": offset + limit})
    return {"resource_id": str(key), "fields": field_types(frame), "records": records(frame),
            "records_format": "objects", "include_total": True, "total": page.total, "limit": limit,
            "offset": offset, "_links": links}


def _run(action: str, params: dict[str, Any], call: _Call) -> Any:
    if action == "package_list":
        names = sorted(package_name(e) for e in all_entities(call.catalog))
        limit = _int(params, "limit", len(names), high=max(len(names), 1))
        offset = _int(params, "offset", 0, high=10**9)
        return names[offset:offset + limit]
    if action == "package_show":
        key = params.get("id") or params.get("name_or_id")
        if not key:
            raise ActionError(_INVALID, "Missing value", "id")
        return package(_lookup(call, str(key)), call.catalog, call.base_url)
    if action == "package_search":
        return _search(params, call.packages())
    teams = call.catalog.get("teams") or []
    entities = all_entities(call.catalog)
    if action == "organization_list":
        owned = {(e.get("owners") or [{}])[0].get("name") for e in entities}
        orgs = sorted((t for t in teams if t["name"] in owned), key=lambda t: t["name"])
        return [organization(t) for t in orgs] if _flag(params, "all_fields") else [t["name"] for t in orgs]
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
    if action in ("group_list", "group_show"):
        counts: dict[str, int] = {}
        for e in entities:
            if name := category_of(e):
                counts[name] = counts.get(name, 0) + 1
        if action == "group_show":
            key = str(params.get("id") or "")
            if not key:
                raise ActionError(_INVALID, "Missing value", "id")
            name = next((n for n in counts if key in (n, group(n)["id"])), None)
            if name is None:
                raise ActionError(_NOT_FOUND, "Not found: Group was not found")
            return group(name, counts[name])
        names = sorted(counts, key=lambda n: (-counts[n], n) if params.get("sort") == "package_count desc" else n)
        names = names[_int(params, "offset", 0, high=10**9):][:_int(params, "limit", len(names), high=10**6)]
        return [group(n, counts[n]) for n in names] if _flag(params, "all_fields") else names
    if action == "tag_list":
        query = str(params.get("query") or params.get("q") or "").lower()
        names = sorted({t["name"] for p in call.packages() for t in p["tags"]})
        names = [n for n in names if query in n.lower()]
        if _flag(params, "all_fields"):
            return [{"id": str(uuid.uuid5(uuid.NAMESPACE_URL, f"urn:citydata:tag:{n}")), "name": n,
                     "display_name": n, "vocabulary_id": None} for n in names]
        return names
    if action == "datastore_search":
        return datastore_search(call, params)
    raise KeyError(action)


ACTIONS = ("package_list", "package_show", "package_search", "organization_list", "organization_show",
           "group_list", "group_show", "tag_list", "datastore_search", "status_show", "help_show")


def _caller(request: Request) -> Viewer:
    """The caller (any key header CKAN clients send: see ``auth._api_key``), counted against their rate limit."""
    return rate_limited(request, resolve_viewer(request))


def _answer(action: str, params: dict[str, Any], request: Request, who: Viewer) -> Any:
    if action == "status_show":
        return {"ckan_version": CKAN_VERSION, "site_title": "城市公共数据开放平台 citydata",
                "site_description": "City data bureau catalog", "site_url": str(request.base_url).rstrip("/"),
                "extensions": ["citydata-catalog", "datastore"], "locale_default": "zh_Hans_CN"}
    if action == "help_show":
        name = str(params.get("name") or "")
        if name not in ACTIONS:
            raise ActionError(_NOT_FOUND, f"Action function not found: {name}")
        return f"CKAN action {name} (citydata): see https://docs.ckan.org/en/2.10/api/"
    call = _Call(settings_of(request), request.app.state.serving, get_catalog(request), str(request.base_url),
                 who.actor, now())
    return _run(action, params, call)


@router.get("/api/3/action/{action}", summary="CKAN action (GET)")
@router.post("/api/3/action/{action}", summary="CKAN action (POST, JSON body)")
@router.api_route("/api/action/{action}", methods=["GET", "POST"], include_in_schema=False)
async def action(action: str, request: Request) -> JSONResponse:
    """CKAN 兼容接口 / One CKAN action: package_list, package_search, package_show, organization_list,
    group_list, tag_list, datastore_search (``resource_id``, ``filters``, ``q``, ``fields``, ``sort``,
    ``limit``, ``offset``; for conditional data also ``grant`` and ``purpose``), status_show."""
    try:
        params = await _params(request)
        if action not in ACTIONS:
            return ckan_error(request, action, 400, "Bad Request", f"Action name not known: {action}")
        who = await run_in_threadpool(_caller, request)
        if request.method == "GET" and action != "datastore_search":  # catalog only: the same for everyone
            return await run_in_threadpool(
                request.app.state.response_cache.respond, request, ("ckan",), lambda: JSONResponse(
                    {"help": _help(request, action), "success": True,
                     "result": _answer(action, params, request, who)}))
        result = await run_in_threadpool(_answer, action, params, request, who)
    except ActionError as exc:
        return ckan_error(request, action, exc.status, exc.type, exc.message, exc.field)
    except HTTPException as exc:
        response = ckan_error(request, action, exc.status_code, _KINDS.get(exc.status_code, "Bad Request"),
                              str(exc.detail))
        response.headers.update(exc.headers or {})
        return response
    except AccessRefused as exc:
        return ckan_error(request, action, 403, "Authorization Error", str(exc))
    except NotPublished as exc:
        return ckan_error(request, action, 404, "Not Found Error", f"datastore not active: {exc}")
    except CatalogUnavailable as exc:
        return ckan_error(request, action, 503, "Service Unavailable", str(exc))
    except CityDataError as exc:
        return ckan_error(request, action, 409, "Validation Error", str(exc))
    return JSONResponse({"help": _help(request, action), "success": True, "result": result})
