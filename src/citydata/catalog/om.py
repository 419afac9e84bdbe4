"""Check catalog entities against openmetadata-ingestion's generated pydantic models.

Importing ``metadata`` takes ~10 s (its package ``__init__`` loads the whole ingestion
framework), so this module is imported only when asked for.
"""

from __future__ import annotations

from typing import Any

from citydata.errors import CityDataError


def validate_columns(columns: list[dict[str, Any]], where: str = "table") -> list[Any]:
    """Validate column dicts as OpenMetadata ``Column`` models; returns the models."""
    from metadata.generated.schema.entity.data.table import Column
    from pydantic import ValidationError

    models = []
    for col in columns:
        try:
            models.append(Column.model_validate(col))
        except ValidationError as exc:
            err = exc.errors()[0]
            loc = ".".join(str(p) for p in err["loc"])
            raise CityDataError(f"{where}: column {col.get('name')!r} is not a valid OpenMetadata "
                                f"Column ({loc}: {err['msg']}): fix the catalog builder") from None
    return models


def validate_catalog(catalog: dict[str, Any]) -> None:
    """Validate every table entity's columns and every lineage edge's references."""
    from metadata.generated.schema.type.entityReference import EntityReference

    for table in catalog.get("tables") or []:
        validate_columns(table.get("columns") or [], table["fullyQualifiedName"])
    for edge in (catalog.get("lineage") or {}).get("edges") or []:
        for end in ("fromEntity", "toEntity"):
            EntityReference.model_validate(edge[end])
