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
the caller's rate limit. This module is the HTTP side (parameters, errors, caching); the actions
are in :mod:`citydata.portal.ckan_actions`, CKAN's shapes in :mod:`citydata.portal.ckan_packages`.
"""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from citydata.errors import CityDataError
from citydata.portal.access import AccessRefused
from citydata.portal.api.deps import CatalogUnavailable, get_catalog
from citydata.portal.auth import Viewer, now, rate_limited, resolve_viewer, settings_of
from citydata.portal.ckan_actions import ACTIONS, Call, run_action
from citydata.portal.ckan_packages import CKAN_VERSION, NOT_FOUND, ActionError
from citydata.portal.rows import NotPublished

router = APIRouter(tags=["CKAN Action API"])
_KINDS = {401: "Authorization Error", 403: "Authorization Error", 404: "Not Found Error", 429: "Rate Limit Error"}


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
            raise ActionError(NOT_FOUND, f"Action function not found: {name}")
        return f"CKAN action {name} (citydata): see https://docs.ckan.org/en/2.10/api/"
    call = Call(settings_of(request), request.app.state.serving, get_catalog(request), str(request.base_url),
                 who.actor, now())
    return run_action(action, params, call)


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
