"""Rows for the machine APIs (data API, CKAN datastore_search): which dataset a name means, and a
filtered, searched, ordered page of it for a viewer — always through :func:`access.released`, so
masking, grants, watermarks and the audit log apply as on every other path.

A reader may filter, search and order only on the columns they receive as they are (masking action
``allow`` for their role): matching on a column they see masked, pseudonymised or not at all would
let them probe its hidden values (``legal_rep_id_number=…`` → does this person represent a company?).
The grade of a column is the one release uses: the catalog's, raised to what the detectors find in
the values (computed once per published version of the table).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import pandas as pd

from citydata.catalog.store import UnknownEntityError, all_entities, get_entity
from citydata.circulation.grading import load_grading
from citydata.circulation.grants import Actor
from citydata.circulation.masking import STRICTEST, load_masking
from citydata.errors import CityDataError
from citydata.portal.access import Released, declared_grades, open_gate, released
from citydata.portal.listing import has_rows
from citydata.portal.serving import Page, ServingStore, dataset_name
from citydata.quality.baselines import PUBLISHED_SCHEMA
from citydata.quality.warehouses import quote
from citydata.settings import Settings


class NotPublished(CityDataError):
    """The dataset is in the catalog but has no rows to serve (only published base-library tables do)."""


def find_dataset(catalog: dict[str, Any], name: str) -> dict[str, Any]:
    """The catalog entity called ``name``: a FQN, id or CKAN package name, or the dataset name of usage
    policies and the audit log (``population.persons``). Raises UnknownEntityError."""
    try:
        return get_entity(catalog, name)
    except UnknownEntityError:
        found = [e for e in all_entities(catalog) if dataset_name(e["fullyQualifiedName"]) == name]
        if not found:
            raise
        return found[0]


def published_table(serving: ServingStore, entity: dict[str, Any]) -> str:
    table = serving.table_of(dataset_name(entity["fullyQualifiedName"])) if has_rows(serving, entity) else None
    if table is None:
        raise NotPublished(f"{entity['fullyQualifiedName']} has no published rows: only the base libraries' "
                           "published tables are served")
    return table


def open_columns(settings: Settings, serving: ServingStore, entity: dict[str, Any], table: str,
                 role: str) -> list[str]:
    """The columns ``role`` receives unmasked: the only ones it may filter, search or order on."""
    policies = settings.circulation.policies_dir
    grading, masking = load_grading(policies), load_masking(policies)
    declared = declared_grades(entity, grading.default_grade)
    classes = serving.detected_classes(table)
    detected = {c: grading.grade_of(cls) for c, cls in classes.items() if cls}
    allowed = []
    for column in serving.columns(table):
        grades = [g for g in (declared.get(column), detected.get(column)) if g]
        if masking.action(max(grades) if grades else STRICTEST, role) == "allow":
            allowed.append(column)
    return allowed


@dataclass(frozen=True)
class Selection:
    """What a request asks of a dataset's rows besides the page: equality filters (column → value as
    text), a text search over the searchable columns, and one column to order by."""

    filters: dict[str, str]
    q: str | None = None
    order_by: str | None = None
    descending: bool = False


def _check(table: str, columns: list[str], allowed: list[str], selection: Selection, role: str) -> None:
    named = list(selection.filters) + ([selection.order_by] if selection.order_by else [])
    unknown = [c for c in dict.fromkeys(named) if c not in columns]
    if unknown:
        raise CityDataError(f"{table} has no column {', '.join(map(repr, unknown))}; columns: {', '.join(columns)}")
    hidden = [c for c in dict.fromkeys(named) if c not in allowed]
    if hidden:
        raise CityDataError(f"cannot filter or order {table} on {', '.join(map(repr, hidden))}: masked or withheld "
                            f"for role {role}; use: {', '.join(allowed) or '(none)'}")


class _Selected:
    """The serving store as :func:`released` reads it, with this request's search and order (values
    always as parameters; names only of columns that exist)."""

    def __init__(self, serving: ServingStore, selection: Selection, searchable: list[str]) -> None:
        self._serving, self._selection, self._searchable = serving, selection, searchable

    def table_of(self, dataset: str) -> str | None:
        return self._serving.table_of(dataset)

    def all_rows(self, table: str) -> pd.DataFrame:
        return self._serving.all_rows(table)

    def detected_classes(self, table: str) -> dict[str, str | None]:
        return self._serving.detected_classes(table)

    def page(self, table: str, *, filters: dict[str, str] | None = None, limit: int = 100, offset: int = 0) -> Page:
        columns = self._serving.columns(table)
        where = [f"cast({quote(c)} as varchar) = ?" for c in filters or {}]
        params: list[Any] = list((filters or {}).values())
        sel = self._selection
        if sel.q:
            pattern = "%" + sel.q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
            where.append("(" + (" or ".join(f"cast({quote(c)} as varchar) ilike ? escape '\\'"
                                             for c in self._searchable) or "false") + ")")
            params += [pattern] * len(self._searchable)
        order = [f"{quote(sel.order_by)} {'desc' if sel.descending else 'asc'}"] if sel.order_by else []
        order.append(quote(columns[0]))
        source = f"{PUBLISHED_SCHEMA}.{quote(table)} where {' and '.join(where) or 'true'}"
        total = self._serving.query(f"select count(*) as n from {source}", params)["n"].iloc[0]
        rows = self._serving.query(f"select * from {source} order by {', '.join(order)} limit ? offset ?",
                                   [*params, limit, offset])
        return Page(rows, int(total), limit, offset)


def grant_purpose(settings: Settings, actor: Actor, grant_id: int) -> str | None:
    """The purpose of the actor's own grant (another consumer's grant: None — release then refuses it)."""
    with open_gate(settings) as gate:
        try:
            grant = gate.grants.grant_of(grant_id)
        except CityDataError:
            return None
    return grant.purpose if grant.consumer == actor.id else None


def select_rows(settings: Settings, serving: ServingStore, entity: dict[str, Any], actor: Actor, *, now: datetime,
                selection: Selection, limit: int, offset: int, purpose: str | None = None,
                grant_id: int | None = None) -> Released:
    """One page of the dataset's rows for ``actor``; ``purpose`` defaults to that of the actor's grant."""
    table = published_table(serving, entity)
    columns = serving.columns(table)
    if selection.filters or selection.order_by or selection.q:
        allowed = open_columns(settings, serving, entity, table, actor.role)
        _check(table, columns, allowed, selection, actor.role)
    else:
        allowed = []
    if grant_id is not None and purpose is None:
        purpose = grant_purpose(settings, actor, grant_id)
    searchable = _text_columns(serving, table, allowed) if selection.q else []
    return released(settings, _Selected(serving, selection, searchable), entity, actor, now=now,  # type: ignore[arg-type]
                    filters=selection.filters, limit=limit, offset=offset, purpose=purpose, grant_id=grant_id)


def _text_columns(serving: ServingStore, table: str, among: list[str]) -> list[str]:
    types = serving.query("select column_name, data_type from duckdb_columns() where schema_name = ? and table_name = ?",
                          [PUBLISHED_SCHEMA, table])
    text = set(types.loc[types["data_type"] == "VARCHAR", "column_name"])
    return [c for c in among if c in text]
