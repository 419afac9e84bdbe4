"""HTML pages: the dataset list (grouped by layer and base library) and one page per dataset."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from citydata.catalog.lineage import lineage
from citydata.catalog.store import UnknownEntityError, all_entities, get_entity
from citydata.portal.api.deps import Catalog
from citydata.portal.present import department as owner_of
from citydata.portal.present import group_datasets, layer_of, templates

router = APIRouter(tags=["pages"])


@router.get("/", response_class=HTMLResponse, name="index")
def index(request: Request, catalog: Catalog, department: str | None = None) -> HTMLResponse:
    """All datasets by layer / base library, optionally only one department's (``?department=``)."""
    selected = department or None
    entities = all_entities(catalog)
    counts: dict[str, int] = {}
    for e in entities:
        owner = _owner_name(e)
        counts[owner] = counts.get(owner, 0) + 1
    shown = [e for e in entities if not selected or _owner_name(e) == selected]
    teams = [t for t in catalog.get("teams") or [] if t["name"] in counts]
    return templates.TemplateResponse(request, "index.html", {
        "catalog": catalog, "sections": group_datasets(shown), "teams": teams, "counts": counts,
        "selected": selected, "total": len(entities), "shown": len(shown),
        "selected_team": next((t for t in teams if t["name"] == selected), None)})


def _owner_name(entity: dict[str, Any]) -> str:
    owner = owner_of(entity)
    return owner["name"] if owner else ""


@router.get("/datasets/{fqn:path}", response_class=HTMLResponse, name="dataset")
def dataset(request: Request, fqn: str, catalog: Catalog) -> HTMLResponse:
    """One dataset: schema, owner, lineage both ways, gate results."""
    try:
        entity = get_entity(catalog, fqn)
    except UnknownEntityError:
        return not_found_page(request, f"目录中没有数据集 “{fqn}”", f"No dataset {fqn!r} in the catalog.")
    full_name = entity["fullyQualifiedName"]
    upstream = lineage(catalog, full_name, "upstream")["nodes"]
    downstream = lineage(catalog, full_name, "downstream")["nodes"]
    return templates.TemplateResponse(request, "dataset.html", {
        "catalog": catalog, "e": entity, "layer": layer_of(entity),
        "upstream": sorted(upstream, key=lambda n: (-n["depth"], n["fullyQualifiedName"])),
        "downstream": downstream, "gate": (entity.get("extension") or {}).get("gate"),
        "scorecard": (entity.get("extension") or {}).get("scorecard")})


def not_found_page(request: Request, message_zh: str, message_en: str) -> HTMLResponse:
    return templates.TemplateResponse(
        request, "not_found.html", {"message_zh": message_zh, "message_en": message_en},
        status_code=404)
