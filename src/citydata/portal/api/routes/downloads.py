"""Downloads (CSV, JSON, Parquet) as the viewer's rights allow, through the circulation gate.

``GET /datasets/{fqn}/download.{csv|json|parquet}?grant=&purpose=``: every row the viewer may have,
from :func:`access.released` with ``download=True`` — masked for their role, refused (403, logged)
without the right basis, watermarked and counted against the grant when it comes under one.
"""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.responses import Response

from citydata.catalog.store import UnknownEntityError, get_entity
from citydata.portal.access import released
from citydata.portal.api.deps import Catalog
from citydata.portal.auth import ApiViewer, now, settings_of
from citydata.portal.formats import FORMATS, content_disposition, encode, typed
from citydata.portal.rows import NotPublished, grant_purpose, published_table
from citydata.portal.serving import dataset_name

router = APIRouter(tags=["downloads"])


@router.get("/datasets/{fqn}/download.{fmt}", name="download",
            responses={200: {"content": {m: {} for m in FORMATS.values()}}, 403: {"description": "refused"}})
def download(request: Request, fqn: str, fmt: Literal["csv", "json", "parquet"], catalog: Catalog,
             viewer: ApiViewer,
             grant: Annotated[int | None, Query(description="授权编号 / your grant, for conditional data")] = None,
             purpose: Annotated[str | None, Query(description="使用目的 / purpose (default: the grant's)")] = None,
             ) -> Response:
    """下载数据集 / Download every row of a dataset you may have, as CSV (UTF-8 with BOM), JSON or Parquet."""
    try:
        entity = get_entity(catalog, fqn)
    except UnknownEntityError as exc:
        raise HTTPException(404, str(exc)) from None
    settings = settings_of(request)
    serving = request.app.state.serving
    try:
        published_table(serving, entity)
    except NotPublished as exc:
        raise HTTPException(404, str(exc)) from None
    purpose = (purpose or "").strip() or None
    if grant is not None and purpose is None:
        purpose = grant_purpose(settings, viewer.actor, grant)
    rows = released(settings, serving, entity, viewer.actor, now=now(), purpose=purpose, grant_id=grant,
                    download=True).rows
    name = dataset_name(entity["fullyQualifiedName"])
    title = entity.get("displayName") or entity["name"]
    return Response(encode(typed(rows, entity), fmt), media_type=FORMATS[fmt], headers={
        "Content-Disposition": content_disposition(f"{name}.{fmt}", f"{title}-{name}.{fmt}"),
        "Cache-Control": "no-store"})
