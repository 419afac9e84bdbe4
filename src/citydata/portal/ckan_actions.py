"""The CKAN actions over the catalog and the serving copy: ``package_*``, ``organization_*``,
``group_*``, ``tag_list`` and ``datastore_search``, whose rows come through the circulation gate for
the caller (:func:`citydata.portal.rows.select_rows`), exactly as the data API's do."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urlencode

from citydata.catalog.store import UnknownEntityError, all_entities, package_name
from citydata.circulation.grants import Actor
from citydata.portal.ckan_packages import (
    INVALID,
    NOT_FOUND,
    ActionError,
    flag_param,
    group,
    int_param,
    organization,
    package,
    resource_id,
    search_packages,
)
from citydata.portal.distribution import Listing, listings
from citydata.portal.formats import field_types, records, typed
from citydata.portal.listing import category_of
from citydata.portal.rows import Selection, find_dataset, select_rows
from citydata.portal.serving import ServingStore
from citydata.settings import Settings


@dataclass
class Call:
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


def _lookup(call: Call, key: str) -> Listing:
    """The listing a package id / name / FQN / dataset name, or one of its resource ids, names."""
    try:
        entity = find_dataset(call.catalog, key)
    except UnknownEntityError:
        kinds = ("csv", "json", "parquet", "page", "lineage")
        entity = next((e for e in all_entities(call.catalog) if key in {resource_id(e, k) for k in kinds}), None)
        if entity is None:
            raise ActionError(NOT_FOUND, f"Not found: no dataset or resource {key!r}") from None
    return listings(call.settings, call.serving, call.catalog, [entity])[0]


def _filters(raw: Any) -> dict[str, str]:
    if raw in (None, ""):
        return {}
    if isinstance(raw, str):
        try:
            raw = json.loads(raw)
        except json.JSONDecodeError:
            raise ActionError(INVALID, "Cannot parse JSON", "filters") from None
    if not isinstance(raw, dict):
        raise ActionError(INVALID, "Not a JSON object", "filters")
    out = {}
    for column, value in raw.items():
        if isinstance(value, list | dict):
            raise ActionError(INVALID, f"one value per column ({column})", "filters")
        out[str(column)] = str(value).lower() if isinstance(value, bool) else str(value)
    return out


def _names(raw: Any, field: str) -> list[str]:
    if raw in (None, ""):
        return []
    if isinstance(raw, str):
        return [n.strip() for n in raw.split(",") if n.strip()]
    if isinstance(raw, list) and all(isinstance(n, str) for n in raw):
        return raw
    raise ActionError(INVALID, "Not a list of names", field)


def _sort(raw: Any) -> tuple[str | None, bool]:
    names = _names(raw, "sort")
    if not names:
        return None, False
    if len(names) > 1:
        raise ActionError(INVALID, "sort on one column only", "sort")
    column, _, direction = names[0].partition(" ")
    if direction.strip().lower() not in ("", "asc", "desc"):
        raise ActionError(INVALID, f"unknown direction {direction!r}: asc or desc", "sort")
    return column.strip('"'), direction.strip().lower() == "desc"


def datastore_search(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    key = params.get("resource_id") or params.get("id")
    if not key:
        raise ActionError(INVALID, "Missing value", "resource_id")
    listing = _lookup(call, str(key))
    limit = int_param(params, "limit", 100, high=call.settings.portal.page_size_max)
    offset = int_param(params, "offset", 0, high=10**9)
    q = params.get("q")
    if q is not None and not isinstance(q, str):
        raise ActionError(INVALID, "full-text search takes a string (use filters per column)", "q")
    order_by, descending = _sort(params.get("sort"))
    grant = int_param(params, "grant", 0, high=2**31) if params.get("grant") not in (None, "") else None
    selection = Selection(_filters(params.get("filters")), q=(q or "").strip() or None, order_by=order_by,
                          descending=descending)
    page = select_rows(call.settings, call.serving, listing.entity, call.actor, now=call.now, selection=selection,
                       limit=limit, offset=offset, purpose=params.get("purpose") or None, grant_id=grant)
    frame = typed(page.rows, listing.entity)
    wanted = _names(params.get("fields"), "fields")
    missing = [f for f in wanted if f not in frame.columns]
    if missing:
        raise ActionError(INVALID, f"not released to you or no such field: {', '.join(missing)}; "
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


def run_action(action: str, params: dict[str, Any], call: Call) -> Any:
    if action == "package_list":
        names = sorted(package_name(e) for e in all_entities(call.catalog))
        limit = int_param(params, "limit", len(names), high=max(len(names), 1))
        offset = int_param(params, "offset", 0, high=10**9)
        return names[offset:offset + limit]
    if action == "package_show":
        key = params.get("id") or params.get("name_or_id")
        if not key:
            raise ActionError(INVALID, "Missing value", "id")
        return package(_lookup(call, str(key)), call.catalog, call.base_url)
    if action == "package_search":
        return search_packages(params, call.packages())
    teams = call.catalog.get("teams") or []
    entities = all_entities(call.catalog)
    if action == "organization_list":
        owned = {(e.get("owners") or [{}])[0].get("name") for e in entities}
        orgs = sorted((t for t in teams if t["name"] in owned), key=lambda t: t["name"])
        return [organization(t) for t in orgs] if flag_param(params, "all_fields") else [t["name"] for t in orgs]
    if action == "organization_show":
        key = params.get("id")
        if not key:
            raise ActionError(INVALID, "Missing value", "id")
        team = next((t for t in teams if key in (t["name"], t["id"])), None)
        if team is None:
            raise ActionError(NOT_FOUND, "Not found: Organization was not found")
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
                raise ActionError(INVALID, "Missing value", "id")
            name = next((n for n in counts if key in (n, group(n)["id"])), None)
            if name is None:
                raise ActionError(NOT_FOUND, "Not found: Group was not found")
            return group(name, counts[name])
        names = sorted(counts, key=lambda n: (-counts[n], n) if params.get("sort") == "package_count desc" else n)
        names = names[int_param(params, "offset", 0, high=10**9):][:int_param(params, "limit", len(names), high=10**6)]
        return [group(n, counts[n]) for n in names] if flag_param(params, "all_fields") else names
    if action == "tag_list":
        query = str(params.get("query") or params.get("q") or "").lower()
        names = sorted({t["name"] for p in call.packages() for t in p["tags"]})
        names = [n for n in names if query in n.lower()]
        if flag_param(params, "all_fields"):
            return [{"id": str(uuid.uuid5(uuid.NAMESPACE_URL, f"urn:citydata:tag:{n}")), "name": n,
                     "display_name": n, "vocabulary_id": None} for n in names]
        return names
    if action == "datastore_search":
        return datastore_search(call, params)
    raise KeyError(action)



ACTIONS = ("package_list", "package_show", "package_search", "organization_list", "organization_show",
           "group_list", "group_show", "tag_list", "datastore_search", "status_show", "help_show")
