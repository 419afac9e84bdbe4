"""The DuckDB text standardisers (guarded: the expensive translate and character-list trims run only
on values holding a character they change) give exactly what the portable default implementations
give, and what a Python mirror of them gives, on 20,000 generated values full of the characters
that matter: full-width digits and letters, ideographic and no-break spaces, tabs, line breaks,
vertical tabs and runs of spaces."""

from __future__ import annotations

import random
import re

import duckdb
import pytest

from citydata.warehouse.dbt_build import compile_inline

VALUES = 20_000
FULL_WIDTH = "０１２３４５６７８９ＡＢＣＤＥＦＧＨＩＪＫＬＭＮＯＰＱＲＳＴＵＶＷＸＹＺａｂｃｄｅｆｇｈｉｊｋｌｍｎｏｐｑｒｓｔｕｖｗｘｙｚ"
HALF_WIDTH = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
PIECES = ["张", "伟", "天津市", "有限公司", "a", "Z", "7", "x", "-", "（", "）", " ", "  ", "\u3000", "\xa0",
          "\t", "\n", "\v", "\f", "\r", *FULL_WIDTH[::7]]
MACROS = ["to_half_width", "strip_whitespace", "half_width_stripped", "clean_text"]
HALF = str.maketrans(FULL_WIDTH + "\u3000\xa0", HALF_WIDTH + "  ")


def clean_text(value: str | None) -> str | None:
    """The mirror: half-width, stripped of spaces and control whitespace, runs of the whitespace DuckDB's
    regular expressions know (space, tab, line feed, form feed, carriage return) made one space."""
    if value is None:
        return None
    text = re.sub(r"[ \t\n\f\r]+", " ", value.translate(HALF).strip(" \t\n\v\f\r"))
    return text or None


def _values(seed: int) -> list[str | None]:
    r = random.Random(seed)
    values: list[str | None] = [None, "", " ", "\u3000", "\v", "plain"]
    while len(values) < VALUES:
        values.append("".join(r.choice(PIECES) for _ in range(r.randint(1, 8))))
    return values


@pytest.fixture(scope="module")
def standardised(dbt_project, tmp_path_factory) -> list[tuple]:
    columns = [f"{{{{ {prefix}{name}('v') }}}} as {prefix}{name}" for name in MACROS for prefix in ("", "default__")]
    sql = compile_inline(dbt_project, tmp_path_factory.mktemp("text") / "unused.duckdb",
                         f"select value_id, v, {', '.join(columns)} from text_values order by value_id")
    con = duckdb.connect()
    try:
        con.execute("create table text_values (value_id integer, v varchar)")
        con.executemany("insert into text_values values (?, ?)", list(enumerate(_values(11))))
        return con.execute(sql).fetchall()
    finally:
        con.close()


def test_guarded_duckdb_macros_equal_the_portable_ones(standardised):
    disagreements = [(row[1], MACROS[i // 2]) for row in standardised
                     for i in range(0, 2 * len(MACROS), 2) if row[2 + i] != row[3 + i]]
    assert disagreements == []


def test_clean_text_equals_its_python_mirror(standardised):
    clean = 2 + 2 * MACROS.index("clean_text")
    bad = [(row[1], row[clean]) for row in standardised if row[clean] != clean_text(row[1])]
    assert bad == []
    assert sum(1 for row in standardised if row[1] != row[clean]) > VALUES // 2  # most values changed
