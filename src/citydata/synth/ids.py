"""Identifier construction and validation: resident ID numbers (GB 11643) and USCC (GB 32100).

Area (birth-place) codes come from the GB/T 2260 registry that python-stdnum ships
(``stdnum/cn/loc.dat``, read through :mod:`stdnum.numdb`), including the years each code was in
force, because :func:`stdnum.cn.ric.is_valid` rejects a code that did not exist in the birth year.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from functools import cache, lru_cache

from stdnum import numdb
from stdnum.cn import ric, uscc
from stdnum.iso7064 import mod_11_10

# "Our city": Tianjin's urban districts (prefix 1201) — every 6-digit code stdnum knows under it.
CITY_NAME = "天津市"
CITY_PREFIX = "1201"
CITY_SHORT = "津"
# Birth places elsewhere in China (residents who moved here, non-residents working here).
ELSEWHERE_CODES = (
    "110101", "110102", "110105", "110106", "110108", "310104", "310105", "310106",
    "370102", "130104", "410102", "440103", "510104", "420102", "610102", "210102",
    "230102", "350102", "340102",
)

RIC_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
RIC_CHECK = "10X98765432"
USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
USCC_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
ORG_WEIGHTS = (3, 7, 9, 10, 5, 8, 4, 2)


@dataclass(frozen=True)
class Division:
    """One county-level code with the names it had over time: ``((start, end, name), ...)``."""

    code: str
    periods: tuple[tuple[int, int, str], ...]

    def valid_in(self, year: int) -> bool:
        return any(start <= year <= end for start, end, _ in self.periods)

    def name_in(self, year: int) -> str:
        for start, end, name in self.periods:
            if start <= year <= end:
                return name
        return self.periods[-1][2]


def _parse_county(text: str) -> tuple[tuple[int, int, str], ...]:
    periods = []
    for part in text.split(","):
        m = re.fullmatch(r"\[(\d*)-(\d*)\](.*)", part)
        if m:
            periods.append((int(m.group(1) or 0), int(m.group(2) or 9999), m.group(3)))
        else:
            periods.append((0, 9999, part))
    return tuple(periods)


def _division(code: str) -> Division | None:
    parts = numdb.get("cn/loc").info(code)
    if len(parts) < 2 or parts[-1][0] != code[2:] or "county" not in parts[-1][1]:
        return None
    return Division(code, _parse_county(parts[-1][1]["county"]))


@lru_cache(maxsize=1)
def city_divisions() -> tuple[Division, ...]:
    """Every county code stdnum knows under :data:`CITY_PREFIX` (``xx00``/``xx01`` 市辖区 excluded)."""
    found = []
    for n in range(2, 100):
        code = f"{CITY_PREFIX}{n:02d}"
        div = _division(code)
        if div is not None and "市辖区" not in div.periods[-1][2]:
            found.append(div)
    found.insert(0, _division(f"{CITY_PREFIX}01") or Division(f"{CITY_PREFIX}01", ((0, 9999, "和平区"),)))
    return tuple(found)


@lru_cache(maxsize=1)
def current_divisions() -> tuple[Division, ...]:
    """The city's districts in force today (used for addresses and ``division_code``)."""
    return tuple(d for d in city_divisions() if d.valid_in(2026))


@lru_cache(maxsize=1)
def elsewhere_divisions() -> tuple[Division, ...]:
    return tuple(d for d in (_division(c) for c in ELSEWHERE_CODES) if d is not None)


@cache
def codes_valid_in(year: int, elsewhere: bool = False) -> tuple[str, ...]:
    pool = elsewhere_divisions() if elsewhere else city_divisions()
    return tuple(d.code for d in pool if d.valid_in(year))


# --- resident ID numbers -------------------------------------------------------------------

def ric_check_char(first17: str) -> str:
    """GB 11643 mod-11 check character over the first 17 digits.

    The weights 7,9,10,5,8,4,2,1,6,3,7,9,10,5,8,4,2 are 2**(17-j) mod 11 (j = 0..16) and
    13 = 2 (mod 11), so sum(d_j * w_j) = 2 * int(first17, 13) (mod 11): one C-level parse.
    """
    return RIC_CHECK[2 * int(first17, 13) % 11]


def ric_check_char_weighted(first17: str) -> str:
    """The same, spelled out with the weights (the reference the tests compare with)."""
    total = sum(int(c) * w for c, w in zip(first17, RIC_WEIGHTS))
    return RIC_CHECK[total % 11]


def make_ric(area: str, birth: dt.date, seq: int) -> str:
    """18-digit ID: area + YYYYMMDD + 3-digit sequence (odd = male) + check character."""
    body = f"{area}{birth:%Y%m%d}{seq:03d}"
    return body + ric_check_char(body)


def to_legacy15(id18: str) -> str:
    """The pre-1999 15-digit form: drop the century '19' and the check character."""
    if id18[6:8] != "19":
        raise ValueError(f"only IDs of persons born 1900-1999 have a 15-digit form: {id18}")
    return id18[:6] + id18[8:17]


def upgrade15(id15: str) -> str:
    body = id15[:6] + "19" + id15[6:15]
    return body + ric_check_char(body)


def normalise_ric(value: object) -> str | None:
    """Strip, upper-case 'x', upgrade a 15-digit number; None for missing values."""
    if value is None or not isinstance(value, str):
        return None
    v = value.strip().upper()
    if len(v) == 15 and v.isdigit():
        v = upgrade15(v)
    return v


def ric_valid(value: object) -> bool:
    """The ground-truth rule for a person identifier: normalise, then ``stdnum.cn.ric.is_valid``."""
    v = normalise_ric(value)
    return bool(v) and ric.is_valid(v)


def wrong_check_ric(id18: str, pick: int) -> str:
    """Same number with a different (wrong) check character; ``pick`` chooses which one."""
    others = [c for c in "0123456789X" if c != id18[17]]
    return id18[:17] + others[pick % len(others)]


# --- unified social credit codes -------------------------------------------------------------

def org_check_char(body8: str) -> str:
    """GB 11714 organisation-code check character over 8 characters (digits / A-Z)."""
    total = sum(int(c, 36) * w for c, w in zip(body8, ORG_WEIGHTS))
    c = 11 - total % 11
    return "X" if c == 10 else "0" if c == 11 else str(c)


def uscc_check_char(first17: str) -> str:
    total = sum(USCC_ALPHABET.index(c) * w for c, w in zip(first17, USCC_WEIGHTS))
    return USCC_ALPHABET[(31 - total % 31) % 31]


def make_uscc(dept: str, kind: str, division: str, org8: str) -> str:
    """GB 32100: department + type + 6-digit division + organisation code (9) + check character."""
    body = f"{dept}{kind}{division}{org8}{org_check_char(org8)}"
    return body + uscc_check_char(body)


def org_code(uscc_value: str) -> str:
    """The 9-character organisation code inside a USCC (for legacy tax registration numbers)."""
    return uscc_value[8:17]


def make_registration_no(division: str, seq8: int) -> str:
    """The 15-digit business registration number (工商注册号) issued before the USCC (2015-10):
    registration authority's division code + 8-digit sequence + ISO 7064 MOD 11,10 check digit."""
    body = f"{division}{seq8:08d}"
    return body + mod_11_10.calc_check_digit(body)


def uscc_valid(value: object) -> bool:
    return isinstance(value, str) and uscc.is_valid(value)


def wrong_check_uscc(code: str, pick: int) -> str:
    others = [c for c in USCC_ALPHABET if c != code[17]]
    return code[:17] + others[pick % len(others)]


@cache
def _place_ok(area: str, year: str) -> bool:
    """stdnum's birth-place check for (area, year), asked of stdnum with an otherwise valid number."""
    probe = f"{area}{year}0101001"
    return ric.is_valid(probe + ric_check_char(probe))


def _date_ok(ymd: str) -> bool:
    try:
        dt.date(int(ymd[:4]), int(ymd[4:6]), int(ymd[6:8]))
    except ValueError:
        return False
    return True


def ric_valid_many(values: list[object]) -> list[bool]:
    """``[ric_valid(v) for v in values]``, faster. stdnum accepts an 18-digit number when its
    check character is right, its date exists and its area code existed in the birth year; the
    last is asked of stdnum once per (area, year). Tests compare this with ``ric_valid``."""
    out = []
    for v in values:
        n = normalise_ric(v)
        out.append(bool(n) and len(n) == 18 and n[:17].isdigit() and n[17] == ric_check_char(n[:17])
                   and _date_ok(n[6:14]) and _place_ok(n[:6], n[6:10]))
    return out


def valid_cached(values: list[object], person: bool) -> list[bool]:
    """Validity of many values (person: :func:`ric_valid`; entity: :func:`uscc_valid`)."""
    if person:
        return ric_valid_many(values)
    cache: dict[object, bool] = {}
    out = []
    for v in values:
        if v not in cache:
            cache[v] = uscc_valid(v)
        out.append(cache[v])
    return out
