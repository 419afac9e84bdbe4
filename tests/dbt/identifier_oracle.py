"""Python reference for what the dbt identifier macros must compute, built on python-stdnum.

Normalisation is citydata's own rule (mirrored here character for character); validity is
``stdnum.cn.ric.is_valid`` / ``stdnum.cn.uscc.is_valid`` on the normalised value, plus, for ID
numbers, a birth date on or before the build's reference date.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

import pandas as pd
from stdnum.cn import ric, uscc

REFERENCE_DATE = "2026-11-22"  # dbt_project.yml var reference_date

_FULL = "０１２３４５６７８９ＡＢＣＤＥＦＧＨＩＪＫＬＭＮＯＰＱＲＳＴＵＶＷＸＹＺａｂｃｄｅｆｇｈｉｊｋｌｍｎｏｐｑｒｓｔｕｖｗｘｙｚ"
_HALF = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
_HALF_WIDTH = str.maketrans(_FULL + "\u3000\u00a0", _HALF + "  ")
_DASHES = str.maketrans({c: "-" for c in "\uff0d\u2010\u2011\u2012\u2013\u2014\u2015\u2212"})
_STRIP = " \t\n\v\f\r"

# The person-identifier columns of the population sources (what persons is one row per).
POPULATION_ID_COLUMNS = [
    ("public_security", "persons", "id_number"),
    ("public_security", "households", "head_id_number"),
    ("civil_affairs", "marriages", "husband_id_number"),
    ("civil_affairs", "marriages", "wife_id_number"),
    ("civil_affairs", "deaths", "id_number"),
    ("hrss", "enrolments", "id_number"),
    ("health", "births", "child_id_number"),
    ("health", "births", "mother_id_number"),
    ("health", "births", "father_id_number"),
]
ENTITY_USCC_COLUMNS = [("market_regulation", "enterprises", "uscc"), ("tax", "taxpayers", "uscc")]


def gb11643_check_char(first17: str) -> str:
    return ric.calc_check_digit(first17 + "0")


def normalise_id_number(raw: object) -> str | None:
    if raw is None or (isinstance(raw, float) and pd.isna(raw)):
        return None
    value = str(raw).translate(_HALF_WIDTH).strip(_STRIP).upper()
    if re.fullmatch(r"[0-9]{15}", value):
        upgraded = value[:6] + "19" + value[6:]
        return upgraded + gb11643_check_char(upgraded)
    return value or None


def is_valid_id_number(value: str | None, reference_date: str = REFERENCE_DATE) -> bool:
    if not value:
        return False
    try:
        valid = ric.is_valid(value)
    except Exception:  # stdnum raises KeyError for province-only area codes: invalid
        return False
    return valid and value[6:14] <= reference_date.replace("-", "")


def normalise_uscc(raw: object) -> str | None:
    if raw is None or (isinstance(raw, float) and pd.isna(raw)):
        return None
    value = re.sub(r"[ \t\n\f\r-]", "", str(raw).translate(_HALF_WIDTH).translate(_DASHES)).upper()
    return value or None


def is_valid_uscc(value: str | None) -> bool:
    return bool(value) and uscc.is_valid(value)


def valid_person_ids(frames: dict[tuple[str, str], pd.DataFrame]) -> set[str]:
    """Distinct valid normalised ID numbers over the population-source identifier columns."""
    return _valid(frames, POPULATION_ID_COLUMNS, normalise_id_number, is_valid_id_number)


def valid_entity_codes(frames: dict[tuple[str, str], pd.DataFrame]) -> set[str]:
    return _valid(frames, ENTITY_USCC_COLUMNS, normalise_uscc, is_valid_uscc)


def credit_subjects(frames: dict[tuple[str, str], pd.DataFrame]) -> set[tuple[str, str]]:
    """(subject_type, code) with a valid code in court or ndrc records, or a rated taxpayer."""
    subjects: set[tuple[str, str]] = set()
    for key in (("court", "dishonest_debtors"), ("ndrc", "sanctions")):
        frame = frames.get(key)
        if frame is None:
            continue
        for kind, code in zip(frame["subject_type"], frame["subject_code"]):
            kind = str(kind).strip().lower() if kind is not None else None
            if kind == "person":
                n = normalise_id_number(code)
                if is_valid_id_number(n):
                    subjects.add(("person", n))
            elif kind == "entity":
                n = normalise_uscc(code)
                if is_valid_uscc(n):
                    subjects.add(("entity", n))
    taxpayers = frames.get(("tax", "taxpayers"))
    if taxpayers is not None:
        for code, rating in zip(taxpayers["uscc"], taxpayers["credit_rating"]):
            n = normalise_uscc(code)
            if _present(rating) and is_valid_uscc(n):
                subjects.add(("entity", n))
    return subjects


def _present(value: object) -> bool:
    return value is not None and not (isinstance(value, float) and pd.isna(value)) and str(value).strip() != ""


def _valid(frames, columns: Iterable[tuple[str, str, str]], normalise, is_valid) -> set[str]:
    found: set[str] = set()
    for connector, table, column in columns:
        frame = frames.get((connector, table))
        if frame is None:
            continue
        for raw in frame[column]:
            n = normalise(raw)
            if is_valid(n):
                found.add(n)
    return found
