"""The synthetic city: determinism, identifiers, injected defects, ground truth, PostgreSQL load/live."""

from __future__ import annotations

import datetime as dt
import decimal
import hashlib
import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from stdnum.cn import ric, uscc

from citydata.synth import (
    DefectRates,
    SynthCity,
    apply_live,
    generate,
    ids,
    load_initial,
    write_city,
)
from citydata.synth.assemble import py
from citydata.synth.loader import to_csv

N, SEED = 2000, 11
POPULATION = {
    ("public_security", "persons", "id_number"), ("public_security", "households", "head_id_number"),
    ("civil_affairs", "marriages", "husband_id_number"), ("civil_affairs", "marriages", "wife_id_number"),
    ("civil_affairs", "deaths", "id_number"), ("hrss", "enrolments", "id_number"),
    ("health", "births", "child_id_number"), ("health", "births", "mother_id_number"),
    ("health", "births", "father_id_number"),
}


@pytest.fixture(scope="module")
def city(connectors) -> SynthCity:
    return generate(N, SEED, connectors=connectors)


def _digest(c: SynthCity) -> str:
    h = hashlib.sha256()
    for key in sorted(c.initial):
        h.update(repr(key).encode() + to_csv(c.initial[key], header=True).encode())
    for ch in c.live:
        h.update(repr(ch).encode())
    h.update(c.truth.to_csv(index=False).encode() + c.defects.to_csv(index=False).encode())
    h.update(json.dumps(c.expected, sort_keys=True, default=str).encode())
    return h.hexdigest()


def test_same_seed_same_city_and_files(connectors, tmp_path: Path) -> None:
    a, b = generate(500, 3, connectors=connectors), generate(500, 3, connectors=connectors)
    assert _digest(a) == _digest(b)
    write_city(a, tmp_path / "a")
    write_city(b, tmp_path / "b")
    files = sorted(p.relative_to(tmp_path / "a") for p in (tmp_path / "a").rglob("*") if p.is_file())
    assert files and all((tmp_path / "a" / f).read_bytes() == (tmp_path / "b" / f).read_bytes() for f in files)
    assert _digest(generate(500, 4, connectors=connectors)) != _digest(a)


def test_tables_match_connector_declarations(city: SynthCity, connectors) -> None:
    for cfg in connectors:
        for table in cfg.tables:
            df = city.initial[(cfg.name, table.name)]
            assert list(df.columns) == list(table.columns), (cfg.name, table.name)
            assert len(df) > 0
            pk = table.primary_key[0]
            assert df[pk].notna().all() and df[pk].is_unique
    mobiles = city.initial[("hrss", "enrolments")]["mobile"].dropna()
    assert mobiles.str.fullmatch(r"1[3-9]\d{9}").all()
    assert set(city.initial[("tax", "taxpayers")]["credit_rating"].dropna()) <= set("ABMCD")


def test_identifiers_against_stdnum(city: SynthCity) -> None:
    t = city.truth
    people, ents = t[t["subject_type"] == "person"], t[t["subject_type"] == "entity"]
    assert all(ric.is_valid(v) for v in people["true_code"].unique())
    assert all(uscc.is_valid(v) for v in ents["true_code"].unique())
    # the fast validity rule equals stdnum on every recorded value
    direct = [bool(v) and ric.is_valid(ids.normalise_ric(v)) for v in people["recorded"]]
    assert people["valid"].tolist() == direct
    assert ents["valid"].tolist() == [isinstance(v, str) and uscc.is_valid(v) for v in ents["recorded"]]
    # every valid 18-digit recorded ID is the true one
    v18 = people[people["valid"] & (people["recorded"].str.len() == 18)]
    assert (v18["recorded"] == v18["true_code"]).all()
    log = city.defects.merge(t, left_on=["connector", "table", "pk", "column"],
                             right_on=["connector", "table", "pk", "role"])
    wrong = log[log["defect_type"] == "id_wrong_check_digit"]
    assert len(wrong) > 0 and not any(ric.is_valid(v) for v in wrong["recorded"])
    assert (wrong["recorded"].str[:17] == wrong["true_code"].str[:17]).all()
    legacy = log[log["defect_type"] == "id_legacy_15"]
    assert len(legacy) > 0 and (legacy["recorded"].str.len() == 15).all()
    assert [ids.upgrade15(v) for v in legacy["recorded"]] == legacy["true_code"].tolist()
    assert legacy["valid"].all() and (legacy["true_code"].str[6:8] == "19").all()
    bad = log[log["defect_type"] == "uscc_wrong_check"]
    assert len(bad) > 0 and not any(uscc.is_valid(v) for v in bad["recorded"])


def test_id_building_blocks() -> None:
    for div in ids.city_divisions():
        for year in (1935, 1960, 1991, 1992, 2009, 2016, 2025):
            value = ids.make_ric(div.code, dt.date(year, 6, 30), 123)
            assert ric.is_valid(value) == div.valid_in(year), (div.code, year)
    rng = np.random.default_rng(0)
    for _ in range(2000):
        body = "".join(map(str, rng.integers(0, 10, 17)))
        assert ids.ric_check_char(body) == ids.ric_check_char_weighted(body) == ric.calc_check_digit(body + "0")
    assert ids.org_check_char("D2143569") == "X"
    code = ids.make_uscc("9", "1", "120101", "12345678")
    assert uscc.is_valid(code) and not uscc.is_valid(ids.wrong_check_uscc(code, 3))
    assert ids.normalise_ric(" 11010519491231002x ") == "11010519491231002X"


def test_defect_counts_match_rates(city: SynthCity) -> None:
    rates = city.rates.model_dump()
    stats = city.expected["defects"]
    assert set(rates) <= set(stats)
    for kind, rate in rates.items():
        s = stats[kind]
        expected = rate * s["eligible"]
        assert s["eligible"] > 0, kind
        assert abs(s["injected"] - expected) <= max(1.0, 0.1 * expected), (kind, s)
    counts = city.defects["defect_type"].value_counts()
    assert city.expected["defect_counts"] == {k: int(v) for k, v in counts.sort_index().items()}
    # the defects are really in the data
    for row in city.defects[city.defects["defect_type"] == "missing_field"].itertuples():
        df = city.initial.get((row.connector, row.table))
        pk = df.columns[0]
        if row.phase == "initial":
            assert pd.isna(df.loc[df[pk] == row.pk, row.column].iloc[0])
    variants = city.defects[city.defects["defect_type"].isin(["name_variant", "name_typo"])]
    assert (variants["detail"].str.startswith("true ")).all() and len(variants) > 0


def test_deaths_and_legal_reps(city: SynthCity) -> None:
    log = city.defects
    still = log[log["defect_type"] == "deceased_still_active"]
    assert (still["phase"] == "live").sum() > 0, "every live death leaves an active hukou row"
    live_deaths = sum(1 for c in city.live if c.table == "deaths" and c.op == "insert")
    assert (still["phase"] == "live").sum() >= live_deaths
    P = city.true_persons
    nonres = set(P.index[~P["resident"]])
    reps = city.truth[(city.truth["table"] == "enterprises") & (city.truth["role"] == "legal_rep_id_number")]
    flagged = set(reps.loc[reps["true_key"].isin(nonres), "pk"])
    assert flagged == set(log.loc[log["defect_type"] == "legal_rep_not_in_household", "pk"])
    hukou = city.truth[(city.truth["table"] == "persons") & (city.truth["connector"] == "public_security")]
    assert not set(hukou["true_key"]) & nonres


def test_expected_counts_recomputed_from_truth(city: SynthCity) -> None:
    t = city.truth
    keep = t["valid"] & ~t["deleted"] & (t["subject_type"] == "person")
    in_pop = np.array([(c, tb, r) in POPULATION for c, tb, r in zip(t["connector"], t["table"], t["role"])])
    assert city.expected["population_persons"] == t.loc[keep & in_pop, "true_key"].nunique()
    # what a pipeline sees: distinct valid normalised ID numbers give the same count
    normalised = {ids.normalise_ric(v) for v in t.loc[keep & in_pop, "recorded"]}
    assert city.expected["population_persons"] == len(normalised)
    legal = t[t["valid"] & ~t["deleted"] & (t["role"] == "uscc")]
    assert city.expected["legal_entities"] == legal["true_key"].nunique() == legal["recorded"].nunique()
    assert city.expected["population_persons"] <= city.expected["true_persons"]
    final = city.final_tables()
    hk = final[("public_security", "persons")]
    active = set(hk.loc[hk["status"] == "active", "person_no"].astype(int))
    rows = t[(t["table"] == "persons") & t["pk"].isin(active)]
    dead = t[(t["table"] == "deaths") & ~t["deleted"]]
    assert city.expected["deceased_still_active"] == len(set(rows["true_key"]) & set(dead["true_key"]))
    assert city.expected["deceased_still_active"] > 0


def test_live_burst_shape(city: SynthCity) -> None:
    initial_rows = sum(len(df) for df in city.initial.values())
    assert 0.02 <= len(city.live) / initial_rows <= 0.05
    assert {c.op for c in city.live} == {"insert", "update", "delete"}
    assert [c.ts for c in city.live] == sorted(c.ts for c in city.live)
    tables = {(c.connector, c.table) for c in city.live if c.op == "insert"}
    assert {("health", "births"), ("public_security", "persons"), ("civil_affairs", "deaths"),
            ("civil_affairs", "marriages"), ("market_regulation", "enterprises"), ("tax", "taxpayers"),
            ("ndrc", "sanctions")} <= tables
    cancels = [c for c in city.live if c.table == "enterprises" and c.op == "update"]
    assert cancels and all(c.values["status"] == "cancelled" for c in cancels)
    assert all(c.table == "dishonest_debtors" for c in city.live if c.op == "delete")


def _norm(v: object) -> object:
    v = py(v)
    if isinstance(v, decimal.Decimal):
        return round(float(v), 2)
    if isinstance(v, float):
        return None if math.isnan(v) else round(v, 2)
    if isinstance(v, dt.datetime):
        return v.astimezone(dt.UTC)
    return v


def _db_rows(server, cfg, table) -> list[tuple]:
    conn = server.connect(cfg.connection.database)
    try:
        with conn.cursor() as cur:
            cols = ", ".join(f'"{c}"' for c in table.columns)
            cur.execute(f'SELECT {cols} FROM "{table.schema_}"."{table.name}" ORDER BY 1')
            return [tuple(_norm(v) for v in row) for row in cur.fetchall()]
    finally:
        conn.close()


def _frame_rows(df: pd.DataFrame) -> list[tuple]:
    df = df.sort_values(df.columns[0])
    return [tuple(_norm(v) for v in row) for row in df.itertuples(index=False, name=None)]


def test_load_initial_then_apply_live(city: SynthCity, pg, connectors) -> None:
    loaded = load_initial(city, pg, connectors)
    assert loaded == city.expected["rows_initial"]
    conn = pg.connect("civil_affairs")
    with conn.cursor() as cur:
        cur.execute("SELECT relreplident FROM pg_class WHERE relname IN ('marriages', 'deaths')")
        assert [r[0] for r in cur.fetchall()] == ["f", "f"]
    conn.close()
    for cfg in connectors:
        for table in cfg.tables:
            assert _db_rows(pg, cfg, table) == _frame_rows(city.initial[(cfg.name, table.name)])
    seen: list[int] = []
    assert apply_live(city, pg, connectors, batch_size=40, progress=seen.append) == len(city.live)
    assert seen[-1] == len(city.live) and seen == sorted(seen)
    final = city.final_tables()
    for cfg in connectors:
        for table in cfg.tables:
            key = (cfg.name, table.name)
            rows = _db_rows(pg, cfg, table)
            assert len(rows) == city.expected["rows_final"][f"{cfg.name}.{table.schema_}.{table.name}"]
            assert rows == _frame_rows(final[key]), key
    debt = {c.key["case_id"] for c in city.live if c.op == "delete"}
    court = next(c for c in connectors if c.name == "court")
    remaining = {r[0] for r in _db_rows(pg, court, court.tables[0])}
    assert debt and not debt & remaining


def test_write_city_files(city: SynthCity, tmp_path: Path) -> None:
    write_city(city, tmp_path)
    manifest = json.loads((tmp_path / "manifest.json").read_text(encoding="utf-8"))
    assert len(manifest["sources"]) == len(city.initial)
    for src in manifest["sources"]:
        df = pd.read_csv(tmp_path / src["path"], dtype=str, keep_default_na=False)
        assert len(df) == src["rows"]
    expected = json.loads((tmp_path / "expected.json").read_text(encoding="utf-8"))
    for k in ("population_persons", "legal_entities", "credit_subjects", "deceased_still_active",
              "defect_counts", "rates", "seed"):
        assert k in expected
    truth = pd.read_parquet(tmp_path / "truth" / "identifiers.parquet")
    assert len(truth) == len(city.truth)
    lines = (tmp_path / "live_changes.jsonl").read_text(encoding="utf-8").splitlines()
    assert len(lines) == len(city.live)


def test_custom_rates(connectors) -> None:
    none = DefectRates(**{k: 0.0 for k in DefectRates.model_fields})
    c = generate(300, 1, none, connectors=connectors)
    kinds = set(c.defects["defect_type"])
    assert kinds <= {"deceased_still_active"}, kinds  # live deaths always leave an active row
    assert c.truth["valid"].all()
