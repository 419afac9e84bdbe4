"""True legal entities (enterprises, social organisations, public institutions) and employment.

Each entity has a USCC built from its type, district and a unique organisation code, a unique
name, an enterprise registered before the USCC (2015-10-01) also its 15-digit 工商注册号, and a legal representative who is a true person: a resident, or (for a configurable share)
a non-resident with no household registration.
"""

from __future__ import annotations

import datetime as dt
import random

import numpy as np
import pandas as pd

from citydata.synth import ids
from citydata.synth.city import END, Addresser, add_years, rand_date
from citydata.synth.events import LIVE_WINDOW_S, live_date, live_times
from citydata.synth.pools import (
    BRAND_CHARS,
    COMPANY_SUFFIXES,
    INDUSTRIES,
    INDUSTRY_WEIGHTS,
    INDUSTRY_WORDS,
    Pools,
)

TYPES = ("enterprise", "social_organisation", "public_institution")
TYPE_CODES = {"enterprise": ("9", "1"), "social_organisation": ("5", "1"),
              "public_institution": ("1", "2")}
LIVE_NEW_ENTITIES = 0.05      # share of initial entities registered during the burst
LIVE_CANCELLED = 0.03         # share of initial entities cancelled during the burst
USCC_INTRODUCED = dt.date(2015, 10, 1)  # 三证合一: registration numbers before, the USCC alone after
SOCIAL_WORDS = ("行业协会", "商会", "促进会", "研究会", "志愿者协会", "慈善基金会")
INSTITUTION_WORDS = ("社区卫生服务中心", "第一中学", "实验小学", "档案馆", "文化馆", "图书馆",
                     "疾病预防控制中心", "政务服务中心", "职业技能培训中心")


class Namer:
    """Unique entity names; an occasional enterprise carries a bracketed place: XX（天津）科技有限公司."""

    def __init__(self, pools: Pools, r: random.Random):
        self.pools, self.r, self.used = pools, r, set()

    def _draw(self, kind: str, industry: int, district: str, long_brand: bool) -> str:
        r, brands = self.r, self.pools.brands
        brand = brands[r.randrange(len(brands))] + (r.choice(BRAND_CHARS) if long_brand else "")
        if kind == "social_organisation":
            return f"{ids.CITY_NAME}{brand}{INDUSTRY_WORDS[industry]}{r.choice(SOCIAL_WORDS)}"
        if kind == "public_institution":
            return f"{ids.CITY_NAME}{district}{brand}{r.choice(INSTITUTION_WORDS)}"
        word, suffix = INDUSTRY_WORDS[industry], r.choice(COMPANY_SUFFIXES)
        u = r.random()
        if u < 0.15:
            return f"{brand}（天津）{word}{suffix}"
        return f"{'天津' if u < 0.75 else '天津市'}{brand}{word}{suffix}"

    def __call__(self, kind: str, industry: int, district: str) -> str:
        """A name unique even after normalisation (有限责任公司 = 有限公司, as entity matching sees it);
        when the two-character brands are crowded (large cities), three-character ones."""
        for attempt in range(60):
            name = self._draw(kind, industry, district, long_brand=attempt >= 10)
            key = name.replace("有限责任公司", "有限公司")
            if key not in self.used:
                self.used.add(key)
                return name
        raise RuntimeError("could not draw a unique entity name")


def pick_reps(est: list[dt.date], cand: np.ndarray, birth: list[dt.date],
              rng: np.random.Generator) -> np.ndarray:
    """A legal representative per entity, at least 22 years old in max(established, 2000)."""
    years = np.array([birth[p].year for p in cand])
    order = np.argsort(years, kind="mergesort")
    sorted_c, sorted_y = cand[order], years[order]
    limit = np.array([max(d.year, 2000) - 22 for d in est])
    upper = np.searchsorted(sorted_y, limit, side="right")
    upper = np.where(upper > 0, upper, len(sorted_c))
    return sorted_c[(rng.random(len(est)) * upper).astype(np.int64)]


def build_entities(n: int, n_live: int, cand: np.ndarray, birth: list[dt.date], nonres_reps: list[int],
                   pools: Pools, r: random.Random, rng: np.random.Generator,
                   addr: Addresser) -> pd.DataFrame:
    """``n`` initial entities plus ``n_live`` registered during the burst; legal representatives
    are drawn from the resident ``cand`` pids, except ``nonres_reps`` (one entity each)."""
    total = n + n_live
    kinds = rng.choice(np.array(TYPES), size=total, p=[0.9, 0.05, 0.05])
    kinds[n:] = "enterprise"
    industry = rng.choice(len(INDUSTRIES), size=total, p=np.array(INDUSTRY_WEIGHTS) / sum(INDUSTRY_WEIGHTS))
    capital = np.round(np.maximum(rng.lognormal(np.log(300), 1.3, size=total), 1.0), 2)
    status = rng.choice(np.array(["active", "revoked", "cancelled"]), size=total, p=[0.88, 0.04, 0.08])
    status[n:] = "active"
    orgs = r.sample(range(10_000_000, 100_000_000), total)
    sequences = r.sample(range(1, 100_000_000), total)
    flagged = sorted(r.sample(range(n), len(nonres_reps)))
    rep_of = dict(zip(flagged, nonres_reps))
    times = [-1.0] * n + live_times(r, n_live)
    namer = Namer(pools, r)
    rows = []
    for e in range(total):
        div = addr.division()
        kind = str(kinds[e])
        if e >= n:
            est = live_date(times[e])
        elif kind == "public_institution":
            est = rand_date(r, dt.date(1952, 1, 1), dt.date(2012, 12, 31))
        else:
            est = rand_date(r, dt.date(1992, 1, 1), END)
        if e in rep_of:  # a non-resident legal representative, old enough at registration
            est = max(est, add_years(birth[rep_of[e]], 22))
        dept, typ = TYPE_CODES[kind]
        code = ids.make_uscc(dept, typ, div.code, str(orgs[e]))
        reg_no = (ids.make_registration_no(div.code, sequences[e])
                  if kind == "enterprise" and est < USCC_INTRODUCED else None)
        rows.append((e, code, namer(kind, int(industry[e]), div.name_in(2026)), kind, div.code,
                     addr.office(div), est, reg_no))
    df = pd.DataFrame(rows, columns=["eid", "uscc", "name", "entity_type", "division_code",
                                     "address", "established_on", "registration_no"])
    df["industry"] = np.array(INDUSTRIES)[industry]
    df["registered_capital"] = capital
    df["status"] = status
    reps = pick_reps(df["established_on"].tolist(), cand, birth, rng)
    reps[flagged] = nonres_reps
    df["legal_rep"] = reps.astype(np.int64)
    df["legal_rep_resident"] = True
    df.loc[flagged, "legal_rep_resident"] = False
    df["phase"] = ["initial"] * n + ["live"] * n_live
    df["ts"] = times
    df["cancel_ts"] = -1.0
    return df


def cancel_some(entities: pd.DataFrame, r: random.Random) -> None:
    """Active initial enterprises cancelled during the burst (an UPDATE in the source)."""
    cand = entities.index[(entities["phase"] == "initial") & (entities["status"] == "active")
                          & (entities["entity_type"] == "enterprise")].tolist()
    n = min(len(cand), max(1, round(LIVE_CANCELLED * int((entities["phase"] == "initial").sum()))))
    chosen = sorted(r.sample(cand, n))
    entities.loc[chosen, "cancel_ts"] = live_times(r, n)


def employ(persons: pd.DataFrame, entities: pd.DataFrame, r: random.Random,
           rng: np.random.Generator) -> pd.DataFrame:
    """Employer (eid), start date and phase for working-age persons alive at the snapshot."""
    n = len(persons)
    year = np.array([b.year for b in persons["birth_date"]])
    alive = persons["death_phase"].isna().to_numpy() | (persons["death_phase"] == "live").to_numpy()
    working = (year >= 1966) & (year <= 2007) & alive & (persons["phase"] == "initial").to_numpy()
    resident = persons["resident"].to_numpy()
    legal_nonres = set(entities.loc[~entities["legal_rep_resident"], "legal_rep"].tolist())
    migrant = ~resident & ~np.isin(np.arange(n), list(legal_nonres))
    u = rng.random(n)
    employed = working & ((u < 0.6) | migrant)
    ok = (entities["phase"] == "initial") & (entities["status"] == "active") & (entities["entity_type"] == "enterprise")
    pool = entities.index[ok].to_numpy()
    w = np.sqrt(entities.loc[ok, "registered_capital"].to_numpy())
    employer = np.full(n, -1, dtype=np.int64)
    employer[employed] = rng.choice(pool, size=int(employed.sum()), p=w / w.sum())
    # new live enterprises hire a few unemployed working-age residents
    free = list(np.flatnonzero(working & ~employed & resident))
    hire_ts = np.full(n, -1.0)
    for e in entities.index[entities["phase"] == "live"]:
        for _ in range(r.randint(1, 5)):
            if free:
                p = free.pop(r.randrange(len(free)))
                employer[p] = e
                hire_ts[p] = min(entities.at[e, "ts"] + r.randint(600, 7 * 86400), LIVE_WINDOW_S - 1)
    births = persons["birth_date"].tolist()
    est = entities["established_on"].tolist()
    started: list[dt.date | None] = [None] * n
    for p in np.flatnonzero(employer >= 0):
        if hire_ts[p] >= 0:
            started[p] = live_date(hire_ts[p])
        else:
            start = max(add_years(births[p], 18), est[int(employer[p])])
            started[p] = rand_date(r, start, END) if start < END else END
    return persons.assign(employer=employer, employed_on=started, hire_ts=hire_ts)
