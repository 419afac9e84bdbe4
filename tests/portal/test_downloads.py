"""Downloads on the demo run's published data: CSV/JSON/Parquet as the gate releases them — masked
for the public, refused (and audited) without a grant, watermarked under a grant."""

from __future__ import annotations

import io
import json
import re
from urllib.parse import unquote

import pandas as pd
import pyarrow.parquet as pq
from fastapi.testclient import TestClient
from tests.portal.conftest import sign_in
from tests.portal.data_paths import ENTITIES, PERSONS, audit, count, grant_persons, published

from citydata.circulation.watermark import trace_leak
from citydata.portal.access import open_gate, portal_master
from citydata.portal.present import download_url
from citydata.settings import Settings


def test_public_downloads_open_data_masked_in_three_formats(portal: TestClient, portal_settings: Settings) -> None:
    rows_published = count(portal_settings, "legal_entities")
    raw_columns = [r[0] for r in published(portal_settings, "select column_name from duckdb_columns() where "
                                           "schema_name = 'published' and table_name = 'legal_entities'")]
    frames = {}
    for fmt in ("csv", "json", "parquet"):
        r = portal.get(download_url(ENTITIES, fmt))
        assert r.status_code == 200, r.text
        disposition = r.headers["content-disposition"]
        assert disposition.startswith("attachment;") and 'filename="legal_entity.legal_entities.' + fmt in disposition
        assert "法人综合库" in unquote(re.search(r"filename\*=UTF-8''(\S+)", disposition).group(1))
        if fmt == "csv":
            assert r.content.startswith(b"\xef\xbb\xbf") and r.headers["content-type"].startswith("text/csv")
            frames[fmt] = pd.read_csv(io.BytesIO(r.content), encoding="utf-8-sig", dtype=str)
        elif fmt == "json":
            rows = json.loads(r.content)
            assert isinstance(rows, list) and all(isinstance(x, dict) for x in rows)
            dated = [x["established_on"] for x in rows if x["established_on"]]
            assert dated and all(re.fullmatch(r"\d{4}-\d{2}-\d{2}", d) for d in dated)
            frames[fmt] = pd.DataFrame(rows)
        else:
            frames[fmt] = pq.read_table(io.BytesIO(r.content)).to_pandas()
    for fmt, frame in frames.items():
        assert len(frame) == rows_published, fmt
        # the public never receives the legal representative's ID number, name or the address
        assert {"legal_rep_id_number", "legal_rep_name", "address"}.isdisjoint(frame.columns), fmt
        assert "legal_entity_id" in frame.columns and set(frame.columns) < set(raw_columns), fmt
    names = frames["csv"]["name"].dropna()
    assert names.str.contains(r"[\u4e00-\u9fff]").any()  # Chinese survives the BOM'd CSV
    assert list(frames["csv"].columns) == list(frames["json"].columns) == list(frames["parquet"].columns)
    assert sorted(frames["csv"]["legal_entity_id"]) == sorted(frames["parquet"]["legal_entity_id"])


def test_public_download_of_conditional_data_is_refused_and_audited(portal: TestClient,
                                                                    portal_settings: Settings) -> None:
    r = portal.get(download_url(PERSONS, "csv"))
    assert r.status_code == 403
    assert "有条件开放" in r.text and "text/csv" not in r.headers["content-type"]
    refusals = audit(portal_settings, "refuse")
    assert [(e["consumer"], e["dataset"]) for e in refusals] == [("public", "population.persons")]
    assert refusals[0]["detail"]["download"] is True
    assert portal.get(download_url("warehouse.citydata.nope.nothing", "csv")).status_code == 404
    assert portal.get(f"/datasets/{ENTITIES}/download.xlsx").status_code == 422


def test_download_under_a_grant_is_watermarked_and_audited(portal: TestClient, portal_settings: Settings) -> None:
    grant = grant_persons(portal_settings, "company.acme")
    sign_in(portal, "company.acme")
    r = portal.get(download_url(PERSONS, "parquet", grant, "social_assistance"))
    assert r.status_code == 200, r.text
    frame = pq.read_table(io.BytesIO(r.content)).to_pandas()
    persons = count(portal_settings, "persons")
    assert len(frame) > persons  # canary rows mixed in
    raw_ids = {r[0] for r in published(portal_settings, "select person_id from published.persons")}
    assert raw_ids.isdisjoint(frame["person_id"].dropna())  # pseudonyms for acme's domain, not ID numbers
    downloads = audit(portal_settings, "download")
    assert [(e["consumer"], e["detail"]["grant"], e["rows"]) for e in downloads] == [("company.acme", grant, persons)]
    with open_gate(portal_settings) as gate:
        trace = trace_leak(frame.sample(frac=0.5, random_state=1), gate.log, portal_master(portal_settings))
    assert trace.recipient == "company.acme"

    # the purpose defaults to the grant's; the second download is the last the grant allows
    again = portal.get(download_url(PERSONS, "json", grant))
    assert again.status_code == 200 and len(again.json()) == len(frame)
    third = portal.get(download_url(PERSONS, "csv", grant))
    assert third.status_code == 403 and "refuses this download" in third.text
