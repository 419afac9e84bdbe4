"""Scale knobs (entities, credit records), honours, and the 工商注册号 / USCC-missing defect."""

from __future__ import annotations

import subprocess
import sys

import pandas as pd
import pytest
from stdnum.iso7064 import mod_11_10

from citydata.errors import CityDataError
from citydata.synth import SynthCity, generate
from citydata.synth.entities import USCC_INTRODUCED

CREDIT = (("court", "dishonest_debtors"), ("ndrc", "sanctions"))


def credit_records(city: SynthCity) -> int:
    final = city.final_tables()
    rated = final[("tax", "taxpayers")]["credit_rating"].notna().sum()
    return sum(len(final[k]) for k in CREDIT) + int(rated)


@pytest.fixture(scope="module")
def city(connectors) -> SynthCity:
    return generate(2000, 5, connectors=connectors)


def test_knobs_hit_their_targets_at_100k(connectors) -> None:
    c = generate(100_000, 9, connectors=connectors, entities=20_000, credit_records=200_000)
    assert len(c.true_entities) == 20_000
    assert abs(credit_records(c) - 200_000) <= 20_000
    assert c.expected["credit_records_final"] == credit_records(c)
    assert c.expected["true_entities"] == 20_000


def test_default_density_is_unchanged(city: SynthCity) -> None:
    assert len(city.true_entities) == 200 + 10  # one initial entity per ten persons, 5 % more in the burst
    per_entity = credit_records(city) / len(city.true_entities)
    assert 1.5 < per_entity < 3.0


def test_small_knobs_and_bad_values(connectors) -> None:
    c = generate(500, 2, connectors=connectors, entities=40, credit_records=100)
    assert len(c.true_entities) == 40
    assert credit_records(c) < 150  # taxpayers and the new enterprises' licences do not shrink
    with pytest.raises(CityDataError, match="entities=3"):
        generate(500, 2, connectors=connectors, entities=3)


def test_honours_are_credit_records_of_entities_and_persons(city: SynthCity) -> None:
    s = city.initial[("ndrc", "sanctions")]
    honours = s[s["record_type"] == "honour"]
    assert set(s["record_type"]) == {"licence", "penalty", "honour"}
    assert set(honours["subject_type"]) == {"entity", "person"}
    assert honours["decision_no"].str.contains("奖").all() and honours["publicity_until"].isna().all()
    assert {"守合同重信用企业", "纳税信用A级纳税人"} & set(honours["content"])


def test_registration_numbers(city: SynthCity) -> None:
    ent = city.final_tables()[("market_regulation", "enterprises")]
    E = city.true_entities.set_index("uscc")
    reg = ent.dropna(subset=["registration_no"])
    assert len(reg) > 50 and reg["registration_no"].str.fullmatch(r"\d{15}").all()
    assert all(mod_11_10.is_valid(v) for v in reg["registration_no"])
    assert reg["registration_no"].str[:6].isin(E["division_code"]).all()
    true = E["registration_no"].dropna()
    assert true.is_unique
    old = E[E["entity_type"] == "enterprise"]
    assert (old["registration_no"].notna() == (old["established_on"] < USCC_INTRODUCED)).all()
    # tax records an enterprise's 工商注册号 where it has one
    tax = city.final_tables()[("tax", "taxpayers")]
    assert tax["registration_no"].isin(set(true)).sum() > 50


def test_uscc_missing_keeps_the_registration_number(city: SynthCity) -> None:
    log = city.defects[city.defects["defect_type"] == "uscc_missing"]
    assert len(log) > 0 and (log["table"] == "taxpayers").all()
    tax = city.initial[("tax", "taxpayers")].set_index("taxpayer_id")
    rows = tax.loc[[p for p in log["pk"] if p in tax.index]]
    assert rows["uscc"].isna().all() and rows["registration_no"].str.fullmatch(r"\d{15}").all()
    truth = city.truth[(city.truth["table"] == "taxpayers") & city.truth["pk"].isin(log["pk"])]
    assert (~truth["valid"]).all() and truth["true_code"].notna().all()


def test_address_variants_are_logged_with_the_true_address(city: SynthCity) -> None:
    log = city.defects[city.defects["defect_type"] == "address_variant"]
    assert len(log) > 20 and set(log["table"]) <= {"persons", "households"}
    assert log["detail"].str.startswith("true 天津市").all()


def test_cli_knobs(tmp_path) -> None:
    res = subprocess.run([sys.executable, "-m", "citydata.cli", "synth", "--out", str(tmp_path), "--persons", "300",
                          "--entities", "25", "--credit-records", "80"], capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stderr
    enterprises = pd.read_csv(next(tmp_path.rglob("*enterprises*.csv")), dtype=str)
    assert len(enterprises) >= 23  # 25 true entities (duplicates added, the burst's not in the snapshot)
    bad = subprocess.run([sys.executable, "-m", "citydata.cli", "synth", "--out", str(tmp_path / "x"),
                          "--persons", "300", "--entities", "2"], capture_output=True, text=True, timeout=300)
    assert bad.returncode != 0 and "Traceback" not in bad.stderr + bad.stdout and "entities=2" in bad.stderr
