"""What the discovery pages list and show: every catalog entity with its facets (department,
category, open level, update frequency, formats), text search with facet counts and pages, the home
page's newest and most-used datasets, departments' summaries, and what one viewer may see of one
dataset (preview, downloads, how to apply)."""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import urlencode

import duckdb
import pandas as pd

from citydata.catalog.entities import LAYERS
from citydata.catalog.store import all_entities
from citydata.circulation.audit_log import USE_ACTIONS
from citydata.circulation.grants import Actor
from citydata.circulation.usage import load_usage
from citydata.errors import CityDataError
from citydata.portal.access import OPENNESS_LABELS, active_grants, open_gate, released, usage_of
from citydata.portal.present import (
    DOWNLOAD_FORMATS,
    FORMAT_LABELS,
    FREQUENCY_LABELS,
    LAYER_LABELS,
    LIBRARY_LABELS,
    dataset_url,
    department,
    download_url,
    formats_of,
    frequency_of,
    layer_of,
    updated_at,
)
from citydata.portal.serving import ServingStore, dataset_name
from citydata.quality.scorecards import department_scorecards
from citydata.settings import Settings

PAGE_SIZE = 20
FACETS = ("department", "category", "openness", "frequency", "format")
PREVIEW_ROWS = 10
SHARES = ("completeness", "validity", "uniqueness", "consistency")
# text search: a term found in the title counts most, then the name, the description, the columns
_WEIGHTS = {"title": 8, "name": 4, "description": 2, "columns": 1}


@dataclass(frozen=True)
class Item:
    """One catalog entity as the lists show it."""

    entity: dict[str, Any]
    dataset: str  # the name usage policies and the audit log use (``population.persons``)
    openness: str
    frequency: str
    formats: tuple[str, ...]
    department: str  # the owning team's name ('' when none)
    category: str  # the base library of a mart, else the layer
    updated: str | None
    order: tuple[int, int, int]  # the default order: published data first, then pipeline order
    texts: tuple[tuple[int, str], ...]  # (weight, case-folded text) searched by ``q``

    @property
    def fqn(self) -> str:
        return self.entity["fullyQualifiedName"]

    @property
    def published(self) -> bool:
        return "api" in self.formats

    def values(self, facet: str) -> tuple[str, ...]:
        return self.formats if facet == "format" else (getattr(self, facet),)


def has_rows(serving: ServingStore, entity: dict[str, Any]) -> bool:
    """Whether the serving copy holds the dataset's rows. Only base-library marts are published, by
    table name alone (``published.persons``), so a source table of the same name does not count."""
    return layer_of(entity) == "mart" and serving.table_of(dataset_name(entity["fullyQualifiedName"])) is not None


def category_of(entity: dict[str, Any]) -> str:
    layer = layer_of(entity)
    library = (entity.get("extension") or {}).get("baseLibrary")
    return str(library) if layer == "mart" and library else layer


def _texts(entity: dict[str, Any]) -> tuple[tuple[int, str], ...]:
    columns = []
    for c in entity.get("columns") or []:
        columns += [c.get("name"), c.get("displayName"), c.get("description")]
    for f in (entity.get("messageSchema") or {}).get("schemaFields") or []:
        columns += [f.get("name")] + [child.get("name") for child in f.get("children") or []]
    found = {"title": [entity.get("displayName")], "name": [entity.get("name"), entity["fullyQualifiedName"]],
             "description": [entity.get("description")], "columns": columns}
    return tuple((_WEIGHTS[kind], " ".join(str(t) for t in texts if t).casefold()) for kind, texts in found.items())


def items(catalog: dict[str, Any], settings: Settings, serving: ServingStore) -> list[Item]:
    """Every table and topic of the catalog, in the default order."""
    # the usage policy read once (access.openness_of reads the file per call): no entry → closed
    policies = load_usage(settings.circulation.policies_dir).datasets
    layers = {layer: i for i, layer in enumerate(LAYERS)}
    out = []
    for i, entity in enumerate(all_entities(catalog)):
        name = dataset_name(entity["fullyQualifiedName"])
        usage = policies.get(name)
        published = has_rows(serving, entity)
        owner = department(entity)
        out.append(Item(
            entity=entity, dataset=name, openness=usage.openness if usage else "closed",
            frequency=frequency_of(entity), formats=formats_of(entity, published),
            department=owner["name"] if owner else "", category=category_of(entity),
            updated=updated_at(entity, catalog),
            order=(0 if published else 1, layers.get(layer_of(entity), len(layers)), i), texts=_texts(entity)))
    return sorted(out, key=lambda item: item.order)


def facet_labels(catalog: dict[str, Any]) -> dict[str, dict[str, tuple[str, str]]]:
    """Each facet's options in display order: value → (Chinese, English)."""
    categories: dict[str, tuple[str, str]] = {}
    for layer in LAYERS:
        if layer == "mart":
            categories.update(LIBRARY_LABELS)
        categories[layer] = LAYER_LABELS[layer]
    teams = {t["name"]: (t.get("displayName") or t["name"], t.get("description") or t["name"])
             for t in catalog.get("teams") or []}
    return {"department": teams, "category": categories, "openness": dict(OPENNESS_LABELS),
            "frequency": dict(FREQUENCY_LABELS), "format": dict(FORMAT_LABELS)}


@dataclass(frozen=True)
class Option:
    value: str
    zh: str
    en: str
    count: int
    selected: bool


@dataclass(frozen=True)
class Results:
    q: str
    filters: dict[str, str]
    items: list[Item]  # this page's
    total: int
    page: int
    pages: int
    facets: dict[str, list[Option]] = field(default_factory=dict)

    @property
    def first(self) -> int:
        return (self.page - 1) * PAGE_SIZE + 1 if self.total else 0

    @property
    def last(self) -> int:
        return min(self.page * PAGE_SIZE, self.total)

    def link(self, **changes: Any) -> str:
        """This search with some parameters changed (a filter set to '' is dropped; page 1 unless given)."""
        params: dict[str, Any] = {"q": self.q, **self.filters, "page": 1, **changes}
        return "/search?" + urlencode({k: v for k, v in params.items() if v not in ("", None) and (k, v) != ("page", 1)})


def _score(item: Item, terms: list[str]) -> int | None:
    """The sum over terms of the best weight of a text holding it; None when a term is nowhere."""
    total = 0
    for term in terms:
        best = max((weight for weight, text in item.texts if term in text), default=None)
        if best is None:
            return None
        total += best
    return total


def search(all_items: list[Item], labels: dict[str, dict[str, tuple[str, str]]], q: str = "",
           filters: dict[str, str] | None = None, page: int = 1) -> Results:
    """Items matching every word of ``q`` (case-insensitive, anywhere in titles, names, descriptions and
    columns) and every filter, best matches first; each facet's counts are over the matches of ``q``
    and the *other* filters, so a facet's counts add up to the results when it is not set."""
    filters = {f: v for f, v in (filters or {}).items() if f in FACETS and v}
    terms = q.casefold().split()
    scored = [(s, item) for item in all_items if (s := _score(item, terms)) is not None]
    matching = [item for _, item in sorted(scored, key=lambda pair: (-pair[0], pair[1].order))]

    def passes(item: Item, skip: str | None = None) -> bool:
        return all(value in item.values(facet) for facet, value in filters.items() if facet != skip)

    found = [item for item in matching if passes(item)]
    facets = {}
    for facet in FACETS:
        counts = Counter(v for item in matching if passes(item, facet) for v in dict.fromkeys(item.values(facet)))
        options = dict(labels.get(facet, {}))
        options.update({v: (v, v) for v in counts if v not in options})
        if filters.get(facet) and filters[facet] not in options:
            options[filters[facet]] = (filters[facet], filters[facet])
        facets[facet] = [Option(v, zh, en, counts.get(v, 0), filters.get(facet) == v) for v, (zh, en) in options.items()
                         if counts.get(v) or filters.get(facet) == v]
    pages = max(1, math.ceil(len(found) / PAGE_SIZE))
    page = min(max(1, page), pages)
    return Results(q=q.strip(), filters=filters, items=found[(page - 1) * PAGE_SIZE: page * PAGE_SIZE],
                   total=len(found), page=page, pages=pages, facets=facets)


# -- the home page ------------------------------------------------------------------------------------

def newest(all_items: list[Item], n: int = 8) -> list[Item]:
    """The most recently updated (see :func:`citydata.portal.present.updated_at`); among datasets
    updated at the same time the more open first, then the default order."""
    levels = list(OPENNESS_LABELS)

    def moment(item: Item) -> float:
        return datetime.fromisoformat(item.updated).timestamp() if item.updated else float("-inf")

    return sorted(all_items, key=lambda item: (-moment(item), levels.index(item.openness), item.order))[:n]


@dataclass(frozen=True)
class Use:
    item: Item
    uses: int
    consumers: int


def usage_counts(settings: Settings) -> dict[str, tuple[int, int]]:
    """Per dataset (usage-policy name): uses of its data in the audit log (reads under a grant or by
    the owner, downloads, extracts: ``USE_ACTIONS``) and distinct consumers. Reads of open data that
    are not downloads are not logged, so they do not count."""
    uses: Counter[str] = Counter()
    consumers: dict[str, set[str]] = {}
    with open_gate(settings) as gate:
        entries = gate.log.entries()
    for e in entries:
        if e.get("action") in USE_ACTIONS and e.get("dataset"):
            uses[e["dataset"]] += 1
            consumers.setdefault(e["dataset"], set()).add(e.get("consumer") or e.get("actor") or "")
    return {d: (n, len(consumers[d])) for d, n in uses.items()}


def most_used(all_items: list[Item], counts: dict[str, tuple[int, int]], n: int = 8) -> list[Use]:
    by_name: dict[str, Item] = {}
    for item in all_items:  # a warehouse table wins over a source table of the same schema.table
        if item.dataset not in by_name or item.published:
            by_name[item.dataset] = item
    found = [Use(by_name[d], uses, people) for d, (uses, people) in counts.items() if d in by_name]
    return sorted(found, key=lambda u: (-u.uses, u.item.order))[:n]


def openness_counts(all_items: list[Item]) -> dict[str, int]:
    counts = Counter(item.openness for item in all_items)
    return {level: counts.get(level, 0) for level in OPENNESS_LABELS}


# -- departments --------------------------------------------------------------------------------------

def department_quality(serving: ServingStore) -> dict[str, dict[str, Any]]:
    """Each department's latest scorecard, rolled up from ``quality.scorecards`` (datasets are scored
    for the department whose data they are), with that run's dataset scorecards under ``datasets``;
    empty when there is no quality history to read."""
    try:
        frame = serving.query("select * from quality.scorecards")
    except (CityDataError, duckdb.CatalogException):  # no serving copy yet, or no quality history in it
        return {}
    if frame.empty:
        return {}
    frame["run_at"] = frame["run_at"].map(lambda t: t.isoformat())
    rolled = department_scorecards(frame)
    out: dict[str, dict[str, Any]] = {}
    for record in rolled.sort_values("run_at").to_dict("records"):
        out[record["department"]] = _clean(record)
    for name, record in out.items():
        rows = frame[(frame["department"] == name) & (frame["run_at"] == record["run_at"])]
        record["datasets_scored"] = [_clean(r) for r in rows.sort_values("dataset").to_dict("records")]
    return out


def _clean(record: dict[str, Any]) -> dict[str, Any]:
    return {k: (None if isinstance(v, float) and math.isnan(v) else v) for k, v in record.items()}


def departments(catalog: dict[str, Any], all_items: list[Item]) -> list[dict[str, Any]]:
    """Teams with datasets (catalog order), each with its datasets' count per open level."""
    by_team: dict[str, list[Item]] = {}
    for item in all_items:
        by_team.setdefault(item.department, []).append(item)
    out = []
    for team in catalog.get("teams") or []:
        owned = by_team.get(team["name"], [])
        out.append({"team": team, "datasets": owned, "openness": openness_counts(owned), "total": len(owned),
                    "published": sum(item.published for item in owned)})
    return out


# -- one dataset for one viewer -----------------------------------------------------------------------

@dataclass
class Offer:
    """What the viewer may do with a dataset: its preview rows (already through the gate), download
    links, or why not (and where to apply)."""

    openness: str
    published: bool
    owner: str | None
    basis: str | None = None  # open | owner | grant: on what ground the viewer reads
    grant: Any = None
    columns: list[str] = field(default_factory=list)
    rows: list[list[str]] = field(default_factory=list)
    total: int | None = None
    refused: str | None = None  # the gate's one-line refusal
    apply_url: str | None = None
    downloads: list[tuple[str, str]] = field(default_factory=list)


def offer(settings: Settings, serving: ServingStore, entity: dict[str, Any], actor: Actor, signed_in: bool,
          now: datetime) -> Offer:
    """Mirrors :func:`citydata.circulation.release.release`'s grounds: the owning department's staff,
    anyone for open data, a grant holder for conditional data; closed data only for its owner. The
    preview and downloads go through :func:`citydata.portal.access.released` (masking, audit log)."""
    fqn = entity["fullyQualifiedName"]
    usage = usage_of(settings, fqn)
    published = has_rows(serving, entity)
    found = Offer(openness=usage.openness if usage else "closed", published=published,
                  owner=usage.owner if usage else None)
    if usage is None:
        return found
    if actor.department is not None and actor.department == usage.owner:
        found.basis = "owner"
    elif usage.openness == "open":
        found.basis = "open"
    elif usage.openness == "conditional":
        grants = active_grants(settings, actor, fqn, now) if signed_in else []
        if grants:
            found.basis, found.grant = "grant", grants[0]
        else:
            found.apply_url = dataset_url(fqn) + "/apply"
    if not published or found.basis is None:
        return found
    grant_id = found.grant.id if found.grant else None
    purpose = found.grant.purpose if found.grant else None
    found.downloads = [(fmt, download_url(fqn, fmt, grant_id, purpose)) for fmt in DOWNLOAD_FORMATS]
    try:
        page = released(settings, serving, entity, actor, now=now, limit=PREVIEW_ROWS, purpose=purpose,
                        grant_id=grant_id)
    except CityDataError as exc:  # AccessRefused (logged by the gate) or a setup problem, one line
        found.refused = str(exc)
        return found
    found.columns = [str(c) for c in page.rows.columns]
    found.rows = [[_cell(v) for v in row] for row in page.rows.itertuples(index=False)]
    found.total = page.total
    return found


def _cell(value: Any) -> str:
    """A preview cell as text: empty for a missing value, a date without its midnight time."""
    try:
        if pd.isna(value):
            return ""
    except (TypeError, ValueError):  # lists and arrays
        return str(value)
    if isinstance(value, pd.Timestamp) and value.tzinfo is None and value == value.normalize():
        return value.date().isoformat()
    return str(value)
