"""The SQL identifier macros, compiled by dbt and run by DuckDB, agree with python-stdnum on 150,000 values.

Values are generated valid and corrupted (wrong check character, wrong length, impossible or future
birth dates, unknown and expired area codes, letters, legacy 15-digit numbers, padding, full-width
characters). Normalisation must equal the Python mirror in identifier_oracle; validity must equal
stdnum.cn.ric / stdnum.cn.uscc (plus the reference-date rule for birth dates); gender and birth date
must equal what the number encodes.
"""

from __future__ import annotations

import csv
import datetime as dt
import random

import duckdb
import identifier_oracle as oracle
import pandas as pd
import pytest
from stdnum.cn import ric
from stdnum.cn import uscc as stdnum_uscc

from citydata.warehouse.dbt_build import compile_inline

ID_VALUES, USCC_VALUES = 100_000, 50_000
ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
FULL_WIDTH = str.maketrans("0123456789Xx", "０１２３４５６７８９Ｘｘ")

ID_SQL = """
with normalised as {{ materialized() }} (
    select value_id, {{ normalise_id_number('raw_value') }} as id_number from differential_id_values
),
checked as {{ materialized() }} (
    select value_id, id_number, {{ id_number_invalid_reason('id_number') }} as invalid_reason from normalised
)
select
    value_id, id_number, invalid_reason,
    case when invalid_reason is null then {{ gender_from_id_number('id_number') }} end as gender,
    case when invalid_reason is null then {{ birth_date_from_id_number('id_number') }} end as birth_date
from checked
"""
USCC_SQL = """
with normalised as {{ materialized() }} (
    select value_id, {{ normalise_uscc('raw_value') }} as uscc from differential_uscc_values
)
select value_id, uscc, {{ uscc_invalid_reason('uscc') }} as invalid_reason from normalised
"""


def _area_codes(dbt_project) -> list[str]:
    with open(dbt_project / "seeds" / "gb2260_divisions.csv", encoding="utf-8") as fh:
        return sorted({row["division_code"] for row in csv.DictReader(fh)})


def _date(r: random.Random) -> str:
    day = dt.date(1900, 1, 1) + dt.timedelta(days=r.randrange(0, 132 * 365))   # 1900 … 2031
    return day.strftime("%Y%m%d")


def _bad_date(r: random.Random) -> str:
    year = r.choice([r.randrange(1900, 2030), 1900, 2100, 0, 1])
    month, day = r.choice([(0, 10), (13, 1), (2, 30), (2, 29), (4, 31), (6, 0), (1, 32), (11, 31)])
    return f"{year:04d}{month:02d}{day:02d}"


def _id(area: str, birth: str, r: random.Random) -> str:
    body = f"{area}{birth}{r.randrange(1000):03d}"
    return body + oracle.gb11643_check_char(body)


def generate_id_values(areas: list[str], n: int, seed: int = 11643) -> list[str | None]:
    r = random.Random(seed)
    out: list[str | None] = []
    while len(out) < n:
        area = r.choice(areas)
        good = _id(area, _date(r), r)
        kind = r.randrange(14)
        if kind <= 3:
            value = good
        elif kind == 4:
            value = good[:17] + r.choice([c for c in "0123456789X" if c != good[17]])
        elif kind == 5:
            value = r.choice([good[:-1], good + str(r.randrange(10)), good[:r.randrange(1, 17)], good + "0X"])
        elif kind == 6:
            value = _id(area, _bad_date(r), r)
        elif kind == 7:
            value = _id(f"{r.randrange(1000000):06d}", _date(r), r)
        elif kind == 8:
            province_only = f"{r.choice(areas)[:2]}{r.randrange(10000):04d}"
            value = _id(province_only, _date(r), r)
        elif kind == 9:
            i = r.randrange(18)
            value = good[:i] + r.choice("ABCXYZxo-. ") + good[i + 1:]
        elif kind == 10:
            legacy = f"{area}{r.randrange(100):02d}{r.randrange(1, 13):02d}{r.randrange(1, 32):02d}{r.randrange(1000):03d}"
            value = legacy if r.random() < 0.8 else legacy[:14] + "X"
        elif kind == 11:
            pad = r.choice([" ", "\t", "\u3000", "\u00a0", "\n", "  "])
            value = r.choice([pad + good, good + pad, pad + good.lower() + pad])
        elif kind == 12:
            value = good.translate(FULL_WIDTH) if r.random() < 0.5 else good.lower()
        else:
            value = r.choice([None, "", "   ", "X", "0" * 18, "1" * 15, good[6:] + good[:6]])
        out.append(value)
    return out


def _uscc(r: random.Random) -> str:
    body = f"{r.choice('123456789ABCDEFGNY')}{r.choice('1239')}{r.randrange(1000000):06d}"
    body = body + "".join(r.choice(ALPHABET) for _ in range(9))
    if not body[:8].isdigit():
        body = "9" + body[1:]
    return body + stdnum_uscc.calc_check_digit(body)


def generate_uscc_values(n: int, seed: int = 32100) -> list[str | None]:
    r = random.Random(seed)
    out: list[str | None] = []
    while len(out) < n:
        good = _uscc(r)
        kind = r.randrange(9)
        if kind <= 2:
            value = good
        elif kind == 3:
            value = good[:17] + r.choice([c for c in ALPHABET if c != good[17]])
        elif kind == 4:
            value = r.choice([good[:-1], good + "1", good[:r.randrange(1, 17)]])
        elif kind == 5:
            i = r.randrange(8, 17)
            value = good[:i] + r.choice("IOSVZ") + good[i + 1:]
        elif kind == 6:
            i = r.randrange(8)
            body = good[:i] + r.choice("ABCDEFGH") + good[i + 1:17]
            value = body + stdnum_uscc.calc_check_digit(body)
        elif kind == 7:
            value = r.choice([good.lower(), f"{good[:8]}-{good[8:]}", f" {good[:6]} {good[6:]} ",
                              good.translate(str.maketrans("0123456789", "０１２３４５６７８９")),
                              good[:9] + "\u2014" + good[9:]])
        else:
            value = r.choice([None, "", " ", "-", good[:17] + "?"])
        out.append(value)
    return out


@pytest.fixture(scope="module")
def compiled(handmade, dbt_project) -> dict[str, str]:
    sql = compile_inline(dbt_project, handmade.path, ID_SQL + "\n;\n" + USCC_SQL)
    id_sql, uscc_sql = sql.split("\n;\n")
    return {"id": id_sql, "uscc": uscc_sql}


def _run(path, table: str, values: list[str | None], sql: str) -> pd.DataFrame:
    con = duckdb.connect(str(path))
    try:
        frame = pd.DataFrame({"value_id": range(len(values)), "raw_value": pd.Series(values, dtype=object)})
        con.register("incoming", frame)
        con.execute(f"create or replace table {table} as select * from incoming")
        return con.execute(sql).df().sort_values("value_id").reset_index(drop=True)
    finally:
        con.close()


def test_id_number_macros_agree_with_stdnum(handmade, compiled, dbt_project):
    values = generate_id_values(_area_codes(dbt_project), ID_VALUES)
    got = _run(handmade.path, "differential_id_values", values, compiled["id"])
    assert len(got) == len(values)
    disagreements = []
    valid_count = 0
    for raw, sql_id, reason, gender, birth in zip(values, got["id_number"], got["invalid_reason"],
                                                   got["gender"], got["birth_date"]):
        expected_id = oracle.normalise_id_number(raw)
        expected_valid = oracle.is_valid_id_number(expected_id)
        sql_id = None if pd.isna(sql_id) else sql_id
        sql_valid = reason is None or pd.isna(reason)
        if sql_id != expected_id or sql_valid != expected_valid:
            disagreements.append((raw, sql_id, reason, expected_id, expected_valid))
            continue
        if expected_valid:
            valid_count += 1
            expected_gender = "male" if int(expected_id[16]) % 2 else "female"
            if gender != expected_gender or birth.date() != ric.get_birth_date(expected_id):
                disagreements.append((raw, sql_id, gender, birth, expected_gender))
    assert disagreements == [], f"{len(disagreements)} disagreements, e.g. {disagreements[:5]}"
    assert 0.15 < valid_count / len(values) < 0.6   # both outcomes well represented


def test_uscc_macros_agree_with_stdnum(handmade, compiled):
    values = generate_uscc_values(USCC_VALUES)
    got = _run(handmade.path, "differential_uscc_values", values, compiled["uscc"])
    disagreements = []
    valid_count = 0
    for raw, sql_code, reason in zip(values, got["uscc"], got["invalid_reason"]):
        expected_code = oracle.normalise_uscc(raw)
        expected_valid = oracle.is_valid_uscc(expected_code)
        sql_code = None if pd.isna(sql_code) else sql_code
        sql_valid = reason is None or pd.isna(reason)
        valid_count += expected_valid
        if sql_code != expected_code or sql_valid != expected_valid:
            disagreements.append((raw, sql_code, reason, expected_code, expected_valid))
    assert disagreements == [], f"{len(disagreements)} disagreements, e.g. {disagreements[:5]}"
    assert 0.2 < valid_count / len(values) < 0.7


def test_normalisation_agrees_with_stdnum_compact_on_plain_input():
    """Where stdnum's own compact() applies (ASCII input), our normalisation gives the same string."""
    assert oracle.normalise_id_number(" 11010519850101008x ") == ric.compact(" 11010519850101008x ")
    for raw in ["91110105-MA01ABCD39", " 91110105 ma01abcd39 ", "91110105—MA01ABCD39"]:
        assert oracle.normalise_uscc(raw) == stdnum_uscc.compact(raw)


def test_seed_is_what_the_installed_stdnum_ships(dbt_project):
    """The committed gb2260_divisions seed equals a fresh generation from python-stdnum's registry."""
    import importlib.util

    spec = importlib.util.spec_from_file_location(
        "generate_gb2260_divisions", dbt_project / "scripts" / "generate_gb2260_divisions.py")
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    with open(dbt_project / "seeds" / "gb2260_divisions.csv", encoding="utf-8") as fh:
        committed = list(csv.DictReader(fh))
    fresh = [{k: str(v) for k, v in row.items()} for row in script.rows()]
    assert committed == fresh, "stdnum's registry changed: rerun dbt_project/scripts/generate_gb2260_divisions.py"
