"""Source rows of the entity and credit departments (market regulation, tax, court, ndrc).

Same conventions as :mod:`citydata.synth.departments` (hidden ``_phase``/``_ts``/``_k_``/``_t_``).
"""

from __future__ import annotations

import datetime as dt
import random

import numpy as np
import pandas as pd

from citydata.synth import ids
from citydata.synth.city import add_years
from citydata.synth.departments import finish, ident, later
from citydata.synth.entities import USCC_INTRODUCED
from citydata.synth.events import live_date, live_times
from citydata.synth.pools import (
    AUTHORITIES,
    HONOUR_AUTHORITIES,
    HONOURS,
    LICENCES,
    OBLIGATIONS,
    PENALTIES,
    PERSON_HONOURS,
    PERSON_LICENCES,
    PERSON_PENALTIES,
)

RATINGS = np.array(["A", "B", "M", "C", "D"])
RATING_P = [0.2, 0.45, 0.25, 0.07, 0.03]
LIVE_PENALTIES = 0.15   # new penalties during the burst, per initial entity
LIVE_LICENCES = 0.10


def enterprises(E: pd.DataFrame, P: pd.DataFrame) -> pd.DataFrame:
    df = pd.DataFrame(index=E.index)
    ident(df, "uscc", E["eid"].to_numpy(), E["uscc"].to_numpy(), "entity")
    df["name"] = E["name"].to_numpy()
    ident(df, "legal_rep_id_number", E["legal_rep"].to_numpy(), P["id_number"].to_numpy(), "person")
    df["legal_rep_name"] = P["name"].to_numpy()[E["legal_rep"].to_numpy()]
    for c in ("registration_no", "registered_capital", "industry", "entity_type", "established_on", "address",
              "division_code"):
        df[c] = E[c].to_numpy()
    # an enterprise cancelled during the burst is still active in the snapshot
    df["status"] = E["status"].to_numpy()
    return finish(df, E["phase"].to_numpy(), E["ts"].to_numpy())


def taxpayers(E: pd.DataFrame, r: random.Random, rng: np.random.Generator) -> pd.DataFrame:
    live = (E["phase"] == "live").to_numpy()
    take = live | ((rng.random(len(E)) < 0.9) & (E["entity_type"] != "public_institution").to_numpy())
    T = E[take]
    df = pd.DataFrame(index=T.index)
    ident(df, "uscc", T["eid"].to_numpy(), E["uscc"].to_numpy(), "entity")
    df["name"] = T["name"].to_numpy()
    # the 工商注册号 of an enterprise registered before the USCC; an older non-enterprise's tax
    # registration number (division + organisation code); else the USCC (三证合一)
    legacy = (T["established_on"] < USCC_INTRODUCED).to_numpy()
    codes, reg_nos = T["uscc"].to_numpy(), T["registration_no"].to_numpy()
    df["registration_no"] = [reg if isinstance(reg, str) else c[2:8] + ids.org_code(c) if old else c
                             for c, reg, old in zip(codes, reg_nos, legacy)]
    rating = rng.choice(RATINGS, size=len(T), p=RATING_P)
    is_live = live[take]
    df["credit_rating"] = np.where(is_live, "M", rating)  # new taxpayers start at M
    df["rated_year"] = np.where(is_live, 2025, rng.choice([2024, 2025], size=len(T), p=[0.3, 0.7]))
    return finish(df, T["phase"].to_numpy(), later(T["ts"].to_numpy(), r, 3600, 2 * 86400))


def _subjects(P: pd.DataFrame, E: pd.DataFrame, persons: np.ndarray, entities: np.ndarray) -> pd.DataFrame:
    """subject_type / subject_code / subject_name for a list of persons then entities."""
    n_p = len(persons)
    df = pd.DataFrame({"subject_type": np.array(["person", "entity"], dtype=object)[
        np.repeat([0, 1], [n_p, len(entities)])]})
    keys = np.concatenate([persons, entities]).astype(np.int64)
    codes = np.concatenate([P["id_number"].to_numpy()[persons], E["uscc"].to_numpy()[entities]])
    df["subject_code"] = codes
    df["_k_subject_code"] = keys
    df["_t_subject_code"] = df["subject_type"].to_numpy()
    df["subject_name"] = np.concatenate([P["name"].to_numpy()[persons], E["name"].to_numpy()[entities]])
    return df


def adults(P: pd.DataFrame) -> np.ndarray:
    year = np.array([b.year for b in P["birth_date"]])
    ok = (year <= 2000) & (P["phase"] == "initial").to_numpy() & P["death_phase"].isna().to_numpy()
    return np.flatnonzero(ok)


def _draw(rng: np.random.Generator, pool: np.ndarray, share: float, least: int = 0) -> np.ndarray:
    """``round(share * len(pool))`` (at least ``least``) members of ``pool``, with repetition."""
    k = max(least, round(share * len(pool))) if len(pool) else 0
    return np.sort(rng.choice(pool, size=k)) if k else np.array([], dtype=np.int64)


def _dates(rng: np.random.Generator, n: int, start: dt.date, end: dt.date) -> list[dt.date]:
    days = rng.integers(0, (end - start).days + 1, n)
    return [start + dt.timedelta(days=int(d)) for d in days]


def _texts(rng: np.random.Generator, pool: tuple[str, ...], n: int) -> np.ndarray:
    return np.array(pool, dtype=object)[rng.integers(0, len(pool), n)]


def credit_scale(target: int, adults: int, initial: int, live: int, taxpayers: int) -> float:
    """The factor on :data:`CREDIT_SHARES` that makes court + NDRC + rated taxpayer rows about
    ``target``. Taxpayers and the live burst's records (:data:`LIVE_SHARES`, and a licence per
    enterprise registered during it) do not scale: a long history does not make the burst busier."""
    pools = {"person": adults, "entity": initial}
    per_scale = sum(share * pools[who] for (_, who), share in CREDIT_SHARES.items())
    fixed = taxpayers + live + sum(share * pools[who] for (_, who), share in LIVE_SHARES.items())
    return max(0.0, (target - fixed) / per_scale) if per_scale else 0.0


# Records per member of the pool at scale 1 (person: living initial adults; entity: initial entities).
CREDIT_SHARES = {
    ("debtor", "person"): 0.006, ("debtor", "entity"): 0.03,
    ("licence", "entity"): 0.8, ("penalty", "entity"): 0.08, ("honour", "entity"): 0.05,
    ("licence", "person"): 0.003, ("penalty", "person"): 0.005, ("honour", "person"): 0.002,
}
LIVE_SHARES = {
    ("live_penalty", "person"): 0.01 * LIVE_PENALTIES, ("live_penalty", "entity"): LIVE_PENALTIES,
    ("live_licence", "entity"): LIVE_LICENCES,
}


def debtors(P: pd.DataFrame, E: pd.DataFrame, r: random.Random, rng: np.random.Generator,
            scale: float = 1.0) -> pd.DataFrame:
    grown = adults(P)
    initial = np.flatnonzero((E["phase"] == "initial").to_numpy())
    persons = _draw(rng, grown, CREDIT_SHARES[("debtor", "person")] * scale, 2)
    ents = _draw(rng, initial, CREDIT_SHARES[("debtor", "entity")] * scale, 2)
    df = _subjects(P, E, persons, ents)
    n = len(df)
    filed = _dates(rng, n, dt.date(2016, 1, 1), dt.date(2025, 12, 1))
    case = rng.integers(1, 10_000, n)
    df["case_no"] = [f"（{d.year}）{ids.CITY_SHORT}01执{k}号" for d, k in zip(filed, case)]
    amount = rng.integers(5, 5001, n) * 1000
    df["obligation"] = [t.format(n=a) for t, a in zip(_texts(rng, OBLIGATIONS, n), amount)]
    df["filed_on"] = filed
    df["status"] = rng.choice(np.array(["listed", "removed"]), size=n, p=[0.85, 0.15])
    order = sorted(range(n), key=lambda i: (filed[i], i))
    return finish(df.iloc[order].reset_index(drop=True), "initial", -1.0)


DECISION_MARK = {"penalty": "罚", "licence": "许", "honour": "奖"}
TEXTS = {"penalty": (PERSON_PENALTIES, PENALTIES), "licence": (PERSON_LICENCES, LICENCES),
         "honour": (PERSON_HONOURS, HONOURS)}


def _records(df: pd.DataFrame, rtype: str, decided: list[dt.date], rng: np.random.Generator) -> None:
    """Decision number, content, authority, decision date and publicity period of NDRC rows."""
    n = len(df)
    people = (df["subject_type"] == "person").to_numpy()
    persons_text, entities_text = TEXTS[rtype]
    content = np.where(people, _texts(rng, persons_text, n), _texts(rng, entities_text, n))
    if rtype == "penalty":
        content = [f"{c}{k * 500}元" for c, k in zip(content, rng.integers(1, 201, n))]
    number = rng.integers(1, 100_000, n)
    df["record_type"] = rtype
    df["decision_no"] = [f"{ids.CITY_SHORT}{DECISION_MARK[rtype]}〔{d.year}〕{k}号" for d, k in zip(decided, number)]
    df["content"] = content
    df["authority"] = _texts(rng, HONOUR_AUTHORITIES if rtype == "honour" else AUTHORITIES, n)
    df["decided_on"] = decided
    years = rng.choice(np.array([1, 3]), n)
    df["publicity_until"] = ([add_years(d, int(y)) for d, y in zip(decided, years)] if rtype == "penalty"
                             else [None] * n)


def sanctions(P: pd.DataFrame, E: pd.DataFrame, r: random.Random, rng: np.random.Generator,
              scale: float = 1.0) -> pd.DataFrame:
    """Licences, penalties and honours (守信激励/红名单); ``scale`` multiplies the initial volumes
    (:data:`CREDIT_SHARES`), not the live burst's (:data:`LIVE_SHARES`)."""
    grown = adults(P)
    initial = np.flatnonzero((E["phase"] == "initial").to_numpy())
    live_e = np.flatnonzero((E["phase"] == "live").to_numpy())
    none = np.array([], dtype=np.int64)

    def draw(kind: str, who: str) -> np.ndarray:
        share = LIVE_SHARES[(kind, who)] if kind.startswith("live_") else CREDIT_SHARES[(kind, who)] * scale
        return _draw(rng, grown if who == "person" else initial, share)

    parts = [  # (record_type, persons, entities, phase)
        ("licence", none, draw("licence", "entity"), "initial"),
        ("penalty", none, draw("penalty", "entity"), "initial"),
        ("honour", draw("honour", "person"), draw("honour", "entity"), "initial"),
        ("licence", draw("licence", "person"), none, "initial"),
        ("penalty", draw("penalty", "person"), none, "initial"),
        ("penalty", draw("live_penalty", "person"), draw("live_penalty", "entity"), "live"),
        ("licence", none, np.concatenate([live_e, draw("live_licence", "entity")]), "live"),
    ]
    frames = []
    for rtype, persons, ents, phase in parts:
        df = _subjects(P, E, np.asarray(persons, dtype=np.int64), np.asarray(ents, dtype=np.int64))
        n = len(df)
        if phase == "live":
            df = df.iloc[rng.permutation(n)].reset_index(drop=True) if n else df
            ts = np.array(live_times(r, n), dtype=float)
            # a licence for an enterprise registered during the burst comes after its registration
            new_ent = (df["_t_subject_code"] == "entity").to_numpy() & np.isin(df["_k_subject_code"], live_e)
            est_ts = E["ts"].to_numpy()[df["_k_subject_code"].to_numpy()[new_ent]]
            ts[new_ent] = np.maximum(ts[new_ent], later(est_ts, r, 3600, 5 * 86400))
            decided = [live_date(t) for t in ts]
        else:
            ts = np.full(n, -1.0)
            decided = _dates(rng, n, dt.date(2019, 1, 1), dt.date(2025, 12, 20))
        _records(df, rtype, decided, rng)
        frames.append(finish(df, phase, ts))
    out = pd.concat(frames, ignore_index=True)
    initial_rows = out[out["_phase"] == "initial"].sort_values("decided_on", kind="mergesort")
    live_rows = out[out["_phase"] == "live"]
    out = pd.concat([initial_rows, live_rows], ignore_index=True)
    out["_ord"] = np.arange(len(out), dtype=float)
    return out
