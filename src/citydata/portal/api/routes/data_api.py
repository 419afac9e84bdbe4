"""The REST data API (``/api/v1``): published datasets, their metadata and their rows, paginated and
filtered, for the caller's API key (or the public) — rows only through the circulation gate.
Documented at ``/docs`` (OpenAPI: ``/openapi.json``)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, Field, TypeAdapter

from citydata.catalog.store import UnknownEntityError
from citydata.circulation.grading import load_grading
from citydata.portal.access import OPENNESS_LABELS, declared_grades, open_gate, usage_of
from citydata.portal.api.deps import Catalog
from citydata.portal.auth import ApiViewer, Viewer, now, settings_of
from citydata.portal.distribution import Listing, download_links, listings, page_link
from citydata.portal.formats import field_types, records, typed
from citydata.portal.present import column_classes, column_label
from citydata.portal.rows import NotPublished, Selection, find_dataset, select_rows

router = APIRouter(prefix="/api/v1", tags=["data API 数据接口"])
RESERVED = ("limit", "offset", "order_by", "grant", "purpose")


class Links(BaseModel):
    self: str = Field(description="本条元数据 / this metadata")
    rows: str = Field(description="数据行接口 / the rows endpoint")
    page: str = Field(description="门户中的数据集页面 / the dataset's portal page")
    downloads: dict[str, str] = Field(description="下载链接（csv/json/parquet）/ download links")


class DatasetSummary(BaseModel):
    name: str = Field(description="数据集名称，如 population.persons / dataset name", examples=["legal_entity.legal_entities"])
    fqn: str = Field(description="目录中的全名 / the catalog's fully qualified name")
    title: str = Field(description="中文名称 / Chinese title")
    title_en: str = Field(description="英文名称 / English title")
    department: str | None = Field(description="权属部门代码 / owning department code")
    department_name: str | None = Field(description="权属部门名称 / owning department")
    openness: str = Field(description="开放属性 open / conditional / closed (普遍开放 / 有条件开放 / 不予开放)")
    openness_label: str = Field(description="开放属性（中文）/ openness in Chinese")
    row_count: int = Field(description="已发布行数 / published rows")
    updated_at: str | None = Field(description="数据更新时间 (ISO 8601) / last updated")
    links: Links


class Column(BaseModel):
    name: str
    label: str = Field(description="中文字段名 / Chinese column name")
    type: str = Field(description="数据类型 / data type in the warehouse")
    description: str = Field(description="字段说明 / description (Chinese, then English)")
    grade: str | None = Field(description="数据分级 L1…L4 / data grade")
    classes: list[str] = Field(description="数据分类 / data classes (resident_id, person_name, …)")


class Terms(BaseModel):
    purposes: list[str] = Field(description="可申请的用途 / purposes one may apply for")
    roles: list[str] = Field(description="可申请的角色 / roles that may apply")
    max_rows: int | None
    max_downloads: int
    max_days: int | None


class DatasetDetail(DatasetSummary):
    description: str = Field(description="说明（中文，空行，英文）/ description, Chinese then English")
    columns: list[Column]
    terms: Terms | None = Field(description="有条件开放数据的使用条件 / terms of a conditional dataset")


class RowField(BaseModel):
    id: str = Field(description="字段名 / column")
    type: str = Field(description="text / int / numeric / bool / date / timestamp")


class RowsPage(BaseModel):
    dataset: str
    total: int = Field(description="符合条件的总行数 / rows matching the filters")
    limit: int
    offset: int
    next: str | None = Field(description="下一页 / the next page's URL, null on the last page")
    columns: list[RowField] = Field(description="返回的字段（按你的权限脱敏后）/ columns as released to you")
    rows: list[dict[str, Any]]


class GrantInfo(BaseModel):
    id: int
    dataset: str
    purpose: str
    not_after: str


class Me(BaseModel):
    id: str
    display_name: str
    role: str
    department: str | None
    domain: str | None
    via: str = Field(description="api_key 或 session / how you are signed in")
    grants: list[GrantInfo] = Field(description="有效授权 / your active grants")


def _summary(listing: Listing, request: Request, count: int) -> dict[str, Any]:
    base = str(request.base_url).rstrip("/")
    api = f"{base}/api/v1/datasets/{listing.name}"
    return {
        "name": listing.name, "fqn": listing.fqn, "title": listing.title_zh, "title_en": listing.title_en,
        "department": listing.team["name"] if listing.team else None,
        "department_name": listing.team.get("displayName") if listing.team else None,
        "openness": listing.openness, "openness_label": OPENNESS_LABELS[listing.openness][0],
        "row_count": count, "updated_at": listing.updated,
        "links": {"self": api, "rows": api + "/rows", "page": page_link(base, listing.fqn),
                  "downloads": download_links(base, listing.fqn)},
    }


def _listing(request: Request, catalog: dict[str, Any], name: str) -> Listing:
    try:
        entity = find_dataset(catalog, name)
    except UnknownEntityError as exc:
        raise HTTPException(404, str(exc)) from None
    listing = listings(settings_of(request), request.app.state.serving, catalog, [entity])[0]
    if listing.table is None:
        raise HTTPException(404, f"{listing.fqn} has no published rows: the data API serves the base libraries' "
                                 "published tables (GET /api/v1/datasets)")
    return listing


@router.get("/datasets", response_model=list[DatasetSummary], summary="数据集列表 / Datasets")
def datasets(request: Request, catalog: Catalog, viewer: ApiViewer) -> Response:
    """有已发布数据的数据集 / The datasets with published rows, with their openness and links."""
    def build() -> list[dict[str, Any]]:
        serving = request.app.state.serving
        found = [x for x in listings(settings_of(request), serving, catalog) if x.table]
        return [_summary(x, request, serving.count(x.table)) for x in sorted(found, key=lambda x: x.name)]
    return _kept(request, ("any",), list[DatasetSummary], build)


def _kept(request: Request, audience: tuple, model: Any, build: Callable[[], Any]) -> Response:
    """``build()``'s answer, serialised as ``model`` (as the route's response_model would), kept per
    version of the files it comes from (portal/response_cache.py)."""
    adapter = TypeAdapter(model)
    return request.app.state.response_cache.respond(request, audience, lambda: JSONResponse(
        adapter.dump_python(adapter.validate_python(build()), mode="json", by_alias=True)))


@router.get("/datasets/{name}", response_model=DatasetDetail, summary="数据集元数据 / Dataset metadata")
def dataset(name: str, request: Request, catalog: Catalog, viewer: ApiViewer) -> Response:
    """字段、分级与使用条件 / Columns (with grades and classes) and terms. ``name``: ``population.persons``
    or the catalog's FQN."""
    return _kept(request, ("any",), DatasetDetail, lambda: _detail(request, catalog, name))


def _detail(request: Request, catalog: dict[str, Any], name: str) -> dict[str, Any]:
    listing = _listing(request, catalog, name)
    settings = settings_of(request)
    grades = declared_grades(listing.entity, load_grading(settings.circulation.policies_dir).default_grade)
    usage = listing.usage
    return {
        **_summary(listing, request, request.app.state.serving.count(listing.table)),
        "description": listing.entity.get("description") or "",
        "columns": [{"name": c["name"], "label": column_label(c), "type": str(c.get("dataType") or ""),
                     "description": c.get("description") or "", "grade": grades.get(c["name"]),
                     "classes": column_classes(c)} for c in listing.entity.get("columns") or []],
        "terms": usage.model_dump(include={"purposes", "roles", "max_rows", "max_downloads", "max_days"})
        if usage and usage.openness == "conditional" else None,
    }


@router.get("/datasets/{name}/rows", response_model=RowsPage, summary="数据行 / Rows",
            responses={400: {"description": "unknown or masked column"}, 403: {"description": "refused"},
                       429: {"description": "rate limit (Retry-After)"}})
def rows(name: str, request: Request, catalog: Catalog, viewer: ApiViewer,
         limit: Annotated[int, Query(ge=1, description="每页行数 / rows per page (≤ portal.page_size_max)")] = 100,
         offset: Annotated[int, Query(ge=0, description="跳过的行数 / rows to skip")] = 0,
         order_by: Annotated[str | None, Query(description="排序字段，前加 - 为降序 / column, -column descending")] = None,
         grant: Annotated[int | None, Query(description="授权编号 / your grant, for conditional data")] = None,
         purpose: Annotated[str | None, Query(description="使用目的 / purpose (default: the grant's)")] = None,
         ) -> dict[str, Any]:
    """按你的权限返回的数据行 / The rows you may read, masked for your role. Any other query parameter
    naming a column filters on equality (``?status=active``) — only columns you receive unmasked."""
    settings = settings_of(request)
    if limit > settings.portal.page_size_max:
        raise HTTPException(400, f"limit {limit} is over the page size limit {settings.portal.page_size_max}")
    listing = _listing(request, catalog, name)
    usage = usage_of(settings, listing.entity["fullyQualifiedName"])
    actor = viewer.actor
    if grant is None and usage is not None and usage.openness == "open" and actor.department != usage.owner:
        # an open read: the same for every reader of this role and domain, and not audited
        return _kept(request, (actor.role, actor.domain), RowsPage,
                     lambda: _rows(request, listing, viewer, limit, offset, order_by, grant, purpose))
    return _rows(request, listing, viewer, limit, offset, order_by, grant, purpose)


def _rows(request: Request, listing: Any, viewer: Viewer, limit: int, offset: int, order_by: str | None,
          grant: int | None, purpose: str | None) -> dict[str, Any]:
    settings = settings_of(request)
    filters = {k: v for k, v in request.query_params.items() if k not in RESERVED}
    selection = Selection(filters, order_by=(order_by or "").lstrip("-") or None,
                          descending=bool(order_by and order_by.startswith("-")))
    try:
        page = select_rows(settings, request.app.state.serving, listing.entity, viewer.actor, now=now(),
                           selection=selection, limit=limit, offset=offset,
                           purpose=(purpose or "").strip() or None, grant_id=grant)
    except NotPublished as exc:
        raise HTTPException(404, str(exc)) from None
    frame = typed(page.rows, listing.entity)
    following = offset + limit
    return {"dataset": listing.name, "total": page.total, "limit": limit, "offset": offset,
            "next": str(request.url.include_query_params(offset=following)) if following < page.total else None,
            "columns": field_types(frame), "rows": records(frame)}


@router.get("/me", response_model=Me, summary="当前用户 / Who am I", responses={401: {"description": "no API key"}})
def me(request: Request, viewer: ApiViewer) -> dict[str, Any]:
    """API 密钥所属用户、角色与有效授权 / The key's user, role and active grants."""
    user = viewer.user
    if user is None:
        raise HTTPException(401, "no API key: send X-API-Key: cdk_… (create one under 我的授权与密钥, /account)",
                            headers={"WWW-Authenticate": "Bearer"})
    at = now()
    with open_gate(settings_of(request)) as gate:
        grants = [{"id": g.id, "dataset": g.dataset, "purpose": g.purpose, "not_after": g.not_after}
                  for g in gate.grants.grants() if g.consumer == user.id and g.status(at) == "active"]
    return {"id": user.id, "display_name": user.display_name, "role": user.role, "department": user.department,
            "domain": user.domain, "via": "api_key" if viewer.via_key else "session", "grants": grants}
