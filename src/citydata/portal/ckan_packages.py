"""CKAN's shapes of the catalog: packages (datasets, with CSV / JSON / Parquet resources and the
datastore), organizations (owning departments), groups (base libraries, or pipeline layers outside
the marts), and ``package_search``'s query (``q`` words, ``fq`` field:value terms, rows/start).
An action's refusal is an :class:`ActionError` with CKAN's status and ``__type``."""

from __future__ import annotations

import uuid
from typing import Any

from citydata.catalog.entities import LAYER_LABELS, LIBRARY_LABELS
from citydata.catalog.store import package_name
from citydata.portal.access import OPENNESS_LABELS
from citydata.portal.distribution import Listing, download_links, page_link
from citydata.portal.formats import FORMATS
from citydata.portal.listing import category_of
from citydata.portal.present import gate_status, licence_of, lineage_url, row_count

CKAN_VERSION = "2.10.0"
NOT_FOUND, INVALID = (404, "Not Found Error"), (409, "Validation Error")


class ActionError(Exception):
    def __init__(self, kind: tuple[int, str], message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.status, self.type, self.message, self.field = kind[0], kind[1], message, field



def int_param(params: dict[str, Any], name: str, default: int, low: int = 0, high: int = 1000) -> int:
    raw = params.get(name, default)
    try:
        value = int(raw)
    except (TypeError, ValueError):
        raise ActionError(INVALID, "Invalid integer", name) from None
    if not low <= value <= high:
        raise ActionError(INVALID, f"must be between {low} and {high}", name)
    return value


def flag_param(params: dict[str, Any], name: str) -> bool:
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


def search_packages(params: dict[str, Any], packages: list[dict[str, Any]]) -> dict[str, Any]:
    rows, start = int_param(params, "rows", 10), int_param(params, "start", 0, high=10**9)
    q = str(params.get("q") or "").strip()
    terms = [] if q in ("", "*:*") else [t.lower() for t in q.split()]
    filters = [tuple(f.split(":", 1)) for f in str(params.get("fq") or "").split() if ":" in f]
    found = [p for p in packages if _matches(p, terms, [(k, v.strip('"')) for k, v in filters])]
    found.sort(key=lambda p: p["name"])
    return {"count": len(found), "results": found[start:start + rows], "sort": "name asc",
            "facets": {}, "search_facets": {}}

