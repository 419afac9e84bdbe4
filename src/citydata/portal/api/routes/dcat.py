"""DCAT-AP catalog in JSON-LD: ``GET /catalog.jsonld`` (``application/ld+json``).

One ``dcat:Catalog`` with a ``dcat:Dataset`` per circulated dataset (openness open or conditional):
titles and descriptions tagged ``zh`` / ``en``, the owning department as publisher and contact
point, base library as theme (ours and the EU data-theme), access rights from the EU access-right
vocabulary (open → PUBLIC, conditional → RESTRICTED), licence, update time and frequency, landing
page, and CSV / JSON / Parquet distributions for datasets with published rows; the data API is a
``dcat:DataService``. Vocabularies as DCAT-AP 3 recommends (EU Publications Office authority tables,
IANA media types).
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from citydata.catalog.entities import LAYER_LABELS, LIBRARY_LABELS
from citydata.portal.api.deps import Catalog
from citydata.portal.auth import settings_of
from citydata.portal.distribution import Listing, download_links, listings, page_link
from citydata.portal.formats import FORMATS
from citydata.portal.listing import category_of
from citydata.portal.present import frequency_of, licence_of
from citydata.portal.serving import ServingStore
from citydata.settings import Settings

router = APIRouter(tags=["DCAT-AP"])
MEDIA_TYPE = "application/ld+json"
EU = "http://publications.europa.eu/resource/authority/"
CONTEXT = {
    "dcat": "http://www.w3.org/ns/dcat#",
    "dct": "http://purl.org/dc/terms/",
    "foaf": "http://xmlns.com/foaf/0.1/",
    "vcard": "http://www.w3.org/2006/vcard/ns#",
    "skos": "http://www.w3.org/2004/02/skos/core#",
    "rdfs": "http://www.w3.org/2000/01/rdf-schema#",
    "xsd": "http://www.w3.org/2001/XMLSchema#",
    "dcatap": "http://data.europa.eu/r5r/",
}
ACCESS_RIGHTS = {"open": "PUBLIC", "conditional": "RESTRICTED", "closed": "NON_PUBLIC"}
FREQUENCIES = {"realtime": "CONT", "daily": "DAILY", "irregular": "IRREG"}
FILE_TYPES = {"csv": "CSV", "json": "JSON", "parquet": "PARQUET"}
# base library → EU data theme (Population and society; Economy and finance; Government and public sector)
EU_THEMES = {"population": "SOCI", "legal_entity": "ECON", "credit": "ECON", "governance": "GOVE", "history": "GOVE"}


def _text(zh: str, en: str) -> list[dict[str, str]]:
    return [{"@value": v, "@language": lang} for lang, v in (("zh", zh), ("en", en)) if v]


def _iri(value: str) -> dict[str, str]:
    return {"@id": value}


def _when(iso: str | None) -> dict[str, str] | None:
    return {"@value": iso, "@type": "xsd:dateTime"} if iso else None


def _organization(base: str, team: dict[str, Any]) -> dict[str, Any]:
    return {"@id": f"{base}/departments/{team['name']}", "@type": "foaf:Organization",
            "foaf:name": _text(team.get("displayName") or team["name"], team.get("description") or ""),
            "dct:identifier": team["name"]}


def _theme(base: str, name: str) -> dict[str, Any]:
    zh, en = LIBRARY_LABELS.get(name) or LAYER_LABELS.get(name) or (name, name)
    return {"@id": f"{base}/themes/{name}", "@type": "skos:Concept", "skos:prefLabel": _text(zh, en),
            "skos:inScheme": _iri(f"{base}/themes")}


def dataset(listing: Listing, base: str) -> dict[str, Any]:
    entity, fqn = listing.entity, listing.fqn
    page = page_link(base, fqn)
    found: dict[str, Any] = {
        "@id": f"{page}#dataset", "@type": "dcat:Dataset", "dct:identifier": fqn,
        "dct:title": _text(listing.title_zh, listing.title_en),
        "dct:description": _text(listing.description_zh, listing.description_en),
        "dct:accessRights": _iri(EU + "access-right/" + ACCESS_RIGHTS[listing.openness]),
        "dct:accrualPeriodicity": _iri(EU + "frequency/" + FREQUENCIES.get(frequency_of(entity), "UNKNOWN")),
        "dcat:landingPage": {"@id": page, "@type": "foaf:Document"},
        "dcat:keyword": _keywords(listing),
    }
    if modified := _when(listing.updated):
        found["dct:modified"] = modified
    if listing.team:
        found["dct:publisher"] = _organization(base, listing.team)
        found["dcat:contactPoint"] = {
            "@type": "vcard:Organization", "vcard:fn": listing.team.get("displayName") or listing.team["name"],
            "vcard:hasURL": _iri(f"{base}/departments/{listing.team['name']}")}
    theme = category_of(entity)
    if theme:
        found["dcat:theme"] = [_theme(base, theme)] + ([_iri(EU + "data-theme/" + EU_THEMES[theme])]
                                                        if theme in EU_THEMES else [])
    licence = licence_of(listing.openness)
    if licence:
        found["dct:license"] = {"@id": f"{page}#licence", "@type": "dct:LicenseDocument",
                                "dct:identifier": licence["id"], "rdfs:label": _text(licence["zh"], licence["en"])}
    if listing.table:
        found["dcat:distribution"] = [_distribution(page, fmt, url, found.get("dct:license"), listing)
                                      for fmt, url in download_links(base, fqn).items()]
    return found


def _keywords(listing: Listing) -> list[dict[str, str]]:
    ext = listing.entity.get("extension") or {}
    words: list[dict[str, str]] = []
    for labels in (LIBRARY_LABELS.get(ext.get("baseLibrary") or ""), LAYER_LABELS.get(ext.get("layer") or "")):
        if labels:
            words += _text(*labels)
    if listing.team:
        words += _text(listing.team.get("displayName") or "", "")
    words.append({"@value": listing.name, "@language": "en"})
    return words


def _distribution(page: str, fmt: str, url: str, licence: dict[str, Any] | None, listing: Listing
                  ) -> dict[str, Any]:
    media = FORMATS[fmt].split(";")[0]
    found: dict[str, Any] = {
        "@id": f"{page}#distribution-{fmt}", "@type": "dcat:Distribution",
        "dct:title": _text(f"{listing.title_zh}（{fmt.upper()}）", f"{listing.title_en} ({fmt.upper()})"),
        "dcat:accessURL": _iri(url), "dcat:downloadURL": _iri(url),
        "dct:format": _iri(EU + "file-type/" + FILE_TYPES[fmt]),
        "dcat:mediaType": _iri("https://www.iana.org/assignments/media-types/" + media),
    }
    if licence:
        found["dct:license"] = {"@id": licence["@id"]}
    if modified := _when(listing.updated):
        found["dct:modified"] = modified
    return found


def catalog_document(settings: Settings, serving: ServingStore, catalog: dict[str, Any], base: str) -> dict[str, Any]:
    """The whole catalog document; ``base`` is the portal's URL (no trailing slash)."""
    circulated = sorted((x for x in listings(settings, serving, catalog) if x.circulated), key=lambda x: x.fqn)
    datasets = [dataset(x, base) for x in circulated]
    bureau = next((t for t in catalog.get("teams") or [] if t["name"] == "data_bureau"), None)
    document: dict[str, Any] = {
        "@context": CONTEXT,
        "@id": f"{base}/catalog.jsonld", "@type": "dcat:Catalog",
        "dct:title": _text("城市公共数据开放平台", "City public data portal (citydata)"),
        "dct:description": _text("本市各部门及大数据中心基础库的开放数据目录：普遍开放与有条件开放的数据集。",
                                 "Open-data catalog of the city's departments and the data bureau's base "
                                 "libraries: datasets open to all and open on conditions."),
        "foaf:homepage": {"@id": f"{base}/", "@type": "foaf:Document"},
        "dct:language": [_iri(EU + "language/ZHO"), _iri(EU + "language/ENG")],
        "dcat:themeTaxonomy": {"@id": f"{base}/themes", "@type": "skos:ConceptScheme",
                               "dct:title": _text("基础库与数据分层", "Base libraries and pipeline layers")},
        "dcat:service": {
            "@id": f"{base}/api/v1", "@type": "dcat:DataService",
            "dct:title": _text("数据接口", "Data API"),
            "dcat:endpointURL": _iri(f"{base}/api/v1"),
            "dcat:endpointDescription": _iri(f"{base}/openapi.json"),
            "dcat:servesDataset": [_iri(d["@id"]) for d in datasets if "dcat:distribution" in d]},
        "dcat:dataset": datasets,
    }
    if modified := _when(catalog.get("generatedAt")):
        document["dct:modified"] = modified
    if bureau:
        document["dct:publisher"] = _organization(base, bureau)
    return document


@router.get("/catalog.jsonld", summary="DCAT-AP 目录 / DCAT-AP catalog (JSON-LD)",
            responses={200: {"content": {MEDIA_TYPE: {}}}})
def catalog_jsonld(request: Request, catalog: Catalog) -> JSONResponse:
    """DCAT-AP 数据目录（JSON-LD）/ The open-data catalog in DCAT-AP, for harvesters (data.europa.eu style)."""
    base = str(request.base_url).rstrip("/")
    document = catalog_document(settings_of(request), request.app.state.serving, catalog, base)
    return JSONResponse(document, media_type=MEDIA_TYPE)
