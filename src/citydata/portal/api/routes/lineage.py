"""JSON lineage of a dataset or one column: ``GET /api/lineage/{fqn}?direction=upstream|downstream|both&depth=N``
(a column's FQN is its dataset's plus the column name)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, HTTPException, Query

from citydata.catalog.lineage import lineage as walk
from citydata.catalog.store import UnknownEntityError
from citydata.portal.api.deps import Catalog

router = APIRouter(prefix="/api/lineage", tags=["lineage"])


@router.get("/{fqn:path}")
def lineage(fqn: str, catalog: Catalog,
            direction: Literal["upstream", "downstream", "both"] = "both",
            depth: Annotated[int | None, Query(ge=0)] = None) -> dict[str, Any]:
    """``{"entity", "nodes", "edges"}`` — nodes carry ``layer``, ``direction`` and ``depth``; for a
    column also ``column``, and its nodes are columns (see ``citydata.catalog.lineage``)."""
    try:
        return walk(catalog, fqn, direction, depth)
    except UnknownEntityError as exc:
        raise HTTPException(status_code=404, detail=str(exc)) from None
