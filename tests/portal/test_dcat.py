"""The DCAT-AP catalog (/catalog.jsonld) on the demo run: one dcat:Dataset per circulated dataset
(as policies/usage.yaml says), with the properties DCAT-AP asks for, distributions that download,
and JSON-LD whose every term expands through its @context."""

from __future__ import annotations

from typing import Any

import yaml
from fastapi.testclient import TestClient

from citydata.catalog.store import all_entities, read_catalog
from citydata.settings import Settings

NAMESPACES = {
    "dcat": "http://www.w3.org/ns/dcat#", "dct": "http://purl.org/dc/terms/", "foaf": "http://xmlns.com/foaf/0.1/",
    "vcard": "http://www.w3.org/2006/vcard/ns#", "xsd": "http://www.w3.org/2001/XMLSchema#",
}
EU = "http://publications.europa.eu/resource/authority/"


def _terms(node: Any) -> set[str]:
    """Every property name and @type value in the document (outside @context)."""
    found: set[str] = set()
    if isinstance(node, list):
        for item in node:
            found |= _terms(item)
    elif isinstance(node, dict):
        for key, value in node.items():
            if key == "@context":
                continue
            if key == "@type":
                found |= set(value if isinstance(value, list) else [value])
            elif not key.startswith("@"):
                found.add(key)
            found |= _terms(value)
    return found


def _texts(values: list[dict[str, str]]) -> dict[str, str]:
    return {v["@language"]: v["@value"] for v in values}


def test_catalog_is_dcat_ap_json_ld(portal: TestClient, portal_settings: Settings) -> None:
    r = portal.get("/catalog.jsonld")
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/ld+json")
    doc = r.json()
    context = doc["@context"]
    assert {k: context[k] for k in NAMESPACES} == NAMESPACES
    unexpanded = {t for t in _terms(doc) if t.partition(":")[0] not in context}
    assert not unexpanded, f"terms with no prefix in @context: {unexpanded}"
    assert doc["@type"] == "dcat:Catalog" and set(_texts(doc["dct:title"])) == {"zh", "en"}
    assert doc["dct:publisher"]["@type"] == "foaf:Organization"

    usage = yaml.safe_load((portal_settings.circulation.policies_dir / "usage.yaml").read_text(encoding="utf-8"))
    openness = {name: d["openness"] for name, d in usage["datasets"].items()}
    catalog = read_catalog(portal_settings.catalog_path)
    expected = {e["fullyQualifiedName"] for e in all_entities(catalog)
                if openness.get(".".join(e["fullyQualifiedName"].split(".")[-2:])) in ("open", "conditional")}
    datasets = {d["dct:identifier"]: d for d in doc["dcat:dataset"]}
    assert set(datasets) == expected and "warehouse.citydata.governance.conflicts" not in datasets

    for fqn, d in datasets.items():
        level = openness[".".join(fqn.split(".")[-2:])]
        rights = {"open": "PUBLIC", "conditional": "RESTRICTED"}[level]
        assert d["@type"] == "dcat:Dataset" and d["dct:accessRights"] == {"@id": EU + "access-right/" + rights}
        assert _texts(d["dct:title"])["zh"] and _texts(d["dct:title"])["en"], fqn
        assert d["dct:description"] and d["dcat:keyword"] and d["dcat:theme"], fqn
        assert d["dct:publisher"]["@type"] == "foaf:Organization" and d["dct:publisher"]["foaf:name"], fqn
        assert d["dcat:contactPoint"]["@type"] == "vcard:Organization" and d["dcat:contactPoint"]["vcard:fn"], fqn
        assert d["dct:license"]["@type"] == "dct:LicenseDocument", fqn
        assert d["dct:modified"]["@type"] == "xsd:dateTime" and d["dct:modified"]["@value"][:4].isdigit(), fqn
        assert d["dcat:landingPage"]["@id"].endswith("/datasets/" + fqn), fqn

    entities = datasets["warehouse.citydata.legal_entity.legal_entities"]
    assert _texts(entities["dct:title"])["zh"] == "法人综合库"
    assert {"@id": EU + "data-theme/ECON"} in entities["dcat:theme"]
    by_format = {x["dct:format"]["@id"].rsplit("/", 1)[1]: x for x in entities["dcat:distribution"]}
    assert set(by_format) == {"CSV", "JSON", "PARQUET"}
    csv = by_format["CSV"]
    assert csv["@type"] == "dcat:Distribution" and csv["dcat:mediaType"]["@id"].endswith("/text/csv")
    assert csv["dcat:downloadURL"] == csv["dcat:accessURL"]
    download = portal.get(csv["dcat:downloadURL"]["@id"])
    assert download.status_code == 200 and download.content.startswith(b"\xef\xbb\xbf")
    persons = datasets["warehouse.citydata.population.persons"]
    assert portal.get(persons["dcat:distribution"][0]["dcat:downloadURL"]["@id"]).status_code == 403
    # conditional but metadata only (a department's staging table): described, nothing to download
    assert "dcat:distribution" not in datasets["warehouse.citydata.staging.stg_hrss__enrolments"]
    served = {s["@id"] for s in doc["dcat:service"]["dcat:servesDataset"]}
    assert entities["@id"] in served and persons["@id"] in served


def test_catalog_parses_as_rdf_with_dcat_classes(portal: TestClient) -> None:
    from rdflib import Graph, Namespace
    from rdflib.namespace import DCAT, DCTERMS, RDF

    graph = Graph().parse(data=portal.get("/catalog.jsonld").text, format="json-ld")
    catalogs = list(graph.subjects(RDF.type, DCAT.Catalog))
    datasets = set(graph.subjects(RDF.type, DCAT.Dataset))
    assert len(catalogs) == 1 and datasets == set(graph.objects(catalogs[0], DCAT.dataset))
    for dataset in datasets:  # DCAT-AP mandatory: title and description; recommended: publisher, access rights
        assert graph.value(dataset, DCTERMS.title) and graph.value(dataset, DCTERMS.description), dataset
        assert graph.value(dataset, DCTERMS.publisher) and graph.value(dataset, DCTERMS.accessRights), dataset
    eu = Namespace(EU)
    downloads = {graph.value(d, DCAT.downloadURL) for d in graph.subjects(RDF.type, DCAT.Distribution)}
    assert downloads and all(str(u).startswith("http") for u in downloads)
    assert (None, DCTERMS.accessRights, eu["access-right/PUBLIC"]) in graph
