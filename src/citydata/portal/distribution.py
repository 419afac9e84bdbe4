"""What the machine-readable catalogs (data API, CKAN, DCAT-AP) say of each dataset: titles and
descriptions in both languages, owning department, openness and terms, whether it has published rows
and where to download them. Usage policies are read once per listing, not once per dataset."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from citydata.catalog.store import all_entities
from citydata.circulation.usage import DatasetUsage, load_usage
from citydata.portal.listing import has_rows
from citydata.portal.present import DOWNLOAD_FORMATS, dataset_url, download_url, updated_at
from citydata.portal.serving import ServingStore, dataset_name
from citydata.settings import Settings

_CLAUSE = re.compile(r"(?<=[.;!?])\s")


@dataclass(frozen=True)
class Listing:
    entity: dict[str, Any]
    usage: DatasetUsage | None
    team: dict[str, Any] | None
    table: str | None  # the published table, None: metadata only
    updated: str | None

    @property
    def fqn(self) -> str:
        return self.entity["fullyQualifiedName"]

    @property
    def name(self) -> str:
        """The dataset name of usage policies and the audit log (``population.persons``)."""
        return dataset_name(self.fqn)

    @property
    def openness(self) -> str:
        return self.usage.openness if self.usage else "closed"

    @property
    def circulated(self) -> bool:
        return self.openness in ("open", "conditional")

    @property
    def title_zh(self) -> str:
        return self.entity.get("displayName") or self.entity["name"]

    @property
    def title_en(self) -> str:
        """The first clause of the English description, else the table's name."""
        en = self.description_en
        if not en:
            return self.entity["name"]
        first = _CLAUSE.split(en, maxsplit=1)[0].rstrip(".;")
        return first if len(first) <= 120 else self.entity["name"]

    @property
    def description_zh(self) -> str:
        return _languages(self.entity.get("description"))[0]

    @property
    def description_en(self) -> str:
        return _languages(self.entity.get("description"))[1]


def _languages(text: str | None) -> tuple[str, str]:
    """(Chinese, English) parts of a catalog description (paragraphs; a paragraph is Chinese when a
    third of its letters are Chinese). Either may be empty."""
    zh, en = [], []
    for part in (p.strip() for p in (text or "").split("\n\n")):
        letters = [ch for ch in part if ch.isalpha()]
        if letters:
            chinese = sum(1 for ch in letters if "\u4e00" <= ch <= "\u9fff")
            (zh if chinese * 3 >= len(letters) else en).append(part)
    return "\n\n".join(zh), "\n\n".join(en)


def listings(settings: Settings, serving: ServingStore, catalog: dict[str, Any],
             entities: list[dict[str, Any]] | None = None) -> list[Listing]:
    """One listing per entity (all of the catalog's by default)."""
    usage = load_usage(settings.circulation.policies_dir).datasets
    teams = {t["name"]: t for t in catalog.get("teams") or []}
    out = []
    for e in all_entities(catalog) if entities is None else entities:
        name = dataset_name(e["fullyQualifiedName"])
        owner = ((e.get("owners") or [{}])[0] or {}).get("name")
        table = serving.table_of(name) if has_rows(serving, e) else None
        out.append(Listing(e, usage.get(name), teams.get(owner or ""), table, updated_at(e, catalog)))
    return out


def download_links(base_url: str, fqn: str) -> dict[str, str]:
    base = base_url.rstrip("/")
    return {fmt: base + download_url(fqn, fmt) for fmt in DOWNLOAD_FORMATS}


def page_link(base_url: str, fqn: str) -> str:
    return base_url.rstrip("/") + dataset_url(fqn)
