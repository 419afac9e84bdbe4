"""Discovery pages: home (search box, newest, most used, open levels), search with filters and facet
counts, one page per dataset, the departments; and the JSON the dataset page's charts read."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.responses import HTMLResponse, Response

from citydata.catalog.lineage import lineage
from citydata.catalog.store import UnknownEntityError, get_entity
from citydata.errors import CityDataError
from citydata.portal import listing
from citydata.portal.api.deps import Catalog
from citydata.portal.auth import CurrentViewer, Viewer, now, page_viewer, settings_of
from citydata.portal.present import frequency_of, layer_of, templates, updated_at
from citydata.portal.serving import ServingStore, dataset_name

router = APIRouter(tags=["pages"])


def _serving(request: Request) -> ServingStore:
    return request.app.state.serving


def _items(request: Request, catalog: dict[str, Any]) -> list[listing.Item]:
    return listing.items(catalog, settings_of(request), _serving(request))


def _public(request: Request, build: Callable[[], Response]) -> Response:
    """Anonymous viewers share one rendering per version of the catalog, serving copy and policies
    (portal/response_cache.py); a signed-in viewer's page is always rendered for them."""
    if page_viewer(request).user is not None:
        return build()
    return request.app.state.response_cache.respond(request, ("public",), build)


@router.get("/", response_class=HTMLResponse, name="index")
def index(request: Request, catalog: Catalog) -> HTMLResponse:
    """Search box, newest and most-used datasets, counts by open level, browse by category."""
    items = _items(request, catalog)
    try:
        counts, usage_error = listing.usage_counts(settings_of(request)), None
    except CityDataError as exc:  # the audit log cannot be read: the rest of the page still works
        counts, usage_error = {}, str(exc)
    browse = listing.search(items, listing.facet_labels(catalog)).facets
    return templates.TemplateResponse(request, "index.html", {
        "catalog": catalog, "total": len(items), "newest": listing.newest(items),
        "most_used": listing.most_used(items, counts), "usage_error": usage_error,
        "openness": listing.openness_counts(items), "categories": browse["category"],
        "departments": browse["department"]})


@router.get("/search", response_class=HTMLResponse, name="search")
def search(request: Request, catalog: Catalog, q: Annotated[str, Query(max_length=200)] = "",
           department: str = "", category: str = "", openness: str = "", frequency: str = "",
           format: str = "", page: Annotated[int, Query(ge=1)] = 1) -> Response:
    """Text search (every word must match) with filters, facet counts and pages of 20."""
    filters = {"department": department, "category": category, "openness": openness,
               "frequency": frequency, "format": format}

    def build() -> Response:
        results = listing.search(_items(request, catalog), listing.facet_labels(catalog), q, filters, page)
        return templates.TemplateResponse(request, "search.html", {"r": results, "facet_names": FACET_NAMES})
    return _public(request, build)


FACET_NAMES = {"department": ("部门", "Department"), "category": ("分类", "Category"),
               "openness": ("开放属性", "Open level"), "frequency": ("更新频率", "Update frequency"),
               "format": ("数据格式", "Format")}


@router.get("/datasets/{fqn}", response_class=HTMLResponse, name="dataset")
def dataset(request: Request, fqn: str, catalog: Catalog, viewer: CurrentViewer) -> Response:
    """One dataset: description, licence, owner, open level, schema, quality, lineage, a preview as the
    viewer may see it, downloads and API examples. (``{fqn}`` holds no ``/``, so the dataset's
    sub-pages — ``/apply``, ``/download.csv`` — reach their own routes.)"""
    try:
        entity = get_entity(catalog, fqn)
    except UnknownEntityError:
        return not_found_page(request, f"目录中没有数据集 “{fqn}”", f"No dataset {fqn!r} in the catalog.")
    return _public(request, lambda: _dataset_page(request, catalog, entity, viewer))


def _dataset_page(request: Request, catalog: dict[str, Any], entity: dict[str, Any], viewer: Viewer) -> Response:
    full_name = entity["fullyQualifiedName"]
    upstream = lineage(catalog, full_name, "upstream")["nodes"]
    downstream = lineage(catalog, full_name, "downstream")["nodes"]
    settings = settings_of(request)
    offer = listing.offer(settings, _serving(request), entity, viewer.actor,
                          viewer.user is not None, now())
    return templates.TemplateResponse(request, "dataset.html", {
        "catalog": catalog, "e": entity, "layer": layer_of(entity), "name": dataset_name(full_name),
        "upstream": sorted(upstream, key=lambda n: (-n["depth"], n["fullyQualifiedName"])),
        "downstream": downstream, "gate": (entity.get("extension") or {}).get("gate"),
        "scorecard": (entity.get("extension") or {}).get("scorecard"), "offer": offer,
        "updated": updated_at(entity, catalog), "frequency": frequency_of(entity),
        "base_url": str(request.base_url).rstrip("/")})


@router.get("/departments", response_class=HTMLResponse, name="departments")
def departments(request: Request, catalog: Catalog) -> Response:
    """Each department: its datasets by open level and its latest quality scorecard."""
    return _public(request, lambda: templates.TemplateResponse(request, "departments.html", {
        "departments": listing.departments(catalog, _items(request, catalog)),
        "quality": listing.department_quality(_serving(request))}))


@router.get("/departments/{name}", response_class=HTMLResponse, name="department")
def department(request: Request, name: str, catalog: Catalog) -> HTMLResponse:
    """One department: its datasets and its latest scorecard."""
    found = next((d for d in listing.departments(catalog, _items(request, catalog)) if d["team"]["name"] == name),
                 None)
    if found is None:
        return not_found_page(request, f"没有部门 “{name}”", f"No department {name!r} in the catalog.")
    return templates.TemplateResponse(request, "department.html", {
        "d": found, "quality": listing.department_quality(_serving(request)).get(name)})


@router.get("/api/portal/quality/{fqn:path}", tags=["portal"])
def quality_trend(fqn: str, catalog: Catalog) -> dict[str, Any]:
    """The dataset's quality scorecards, oldest run first (``runs``: run_at, rows, completeness,
    validity, uniqueness, consistency as shares 0..1, timeliness_hours): the quality trend chart's data."""
    try:
        entity = get_entity(catalog, fqn)
    except UnknownEntityError as exc:
        raise HTTPException(status_code=404, detail=str(exc)) from None
    scorecard = (entity.get("extension") or {}).get("scorecard") or {}
    keys = ("run_at", "rows", *listing.SHARES, "timeliness_hours")
    return {"fullyQualifiedName": entity["fullyQualifiedName"], "dataset": dataset_name(entity["fullyQualifiedName"]),
            "runs": [{k: run.get(k) for k in keys} for run in scorecard.get("trend") or []]}


def not_found_page(request: Request, message_zh: str, message_en: str) -> HTMLResponse:
    return templates.TemplateResponse(
        request, "not_found.html", {"message_zh": message_zh, "message_en": message_en},
        status_code=404)
