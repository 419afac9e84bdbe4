"""Source rows of the entity and credit departments (market regulation, tax, court, ndrc).

Same conventions as :mod:`citydata.synth.departments` (hidden ``_phase``/``_ts``/``_k_``/``_t_``).
"""

from __future__ import annotations

import datetime as dt
import random

import numpy as np
import pandas as pd

from citydata.synth import ids
from citydata.synth.city import add_years, rand_date
from citydata.synth.departments import finish, ident, later
from citydata.synth.events import live_date, live_times
from citydata.synth.pools import (
    AUTHORITIES,
    LICENCES,
    OBLIGATIONS,
    PENALTIES,
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
    for c in ("registered_capital", "industry", "entity_type", "established_on", "address", "division_code"):
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
    legacy = (T["established_on"] < dt.date(2015, 10, 1)).to_numpy()
    codes = T["uscc"].to_numpy()
    df["registration_no"] = [c[2:8] + ids.org_code(c) if old else c for c, old in zip(codes, legacy)]
    rating = rng.choice(RATINGS, size=len(T), p=RATING_P)
    is_live = live[take]
    df["credit_rating"] = np.where(is_live, "M", rating)  # new taxpayers start at M
    df["rated_year"] = np.where(is_live, 2025, rng.choice([2024, 2025], size=len(T), p=[0.3, 0.7]))
    return finish(df, T["phase"].to_numpy(), later(T["ts"].to_numpy(), r, 3600, 2 * 86400))


def _subjects(P: pd.DataFrame, E: pd.DataFrame, persons: np.ndarray, entities: np.ndarray) -> pd.DataFrame:
    """subject_type / subject_code / subject_name for a list of persons then entities."""
    n_p = len(persons)
    df = pd.DataFrame({"subject_type": ["person"] * n_p + ["entity"] * len(entities)})
    keys = np.concatenate([persons, entities]).astype(np.int64)
    codes = np.concatenate([P["id_number"].to_numpy()[persons], E["uscc"].to_numpy()[entities]])
    df["subject_code"] = codes
    df["_k_subject_code"] = keys
    df["_t_subject_code"] = df["subject_type"].to_numpy()
    df["subject_name"] = np.concatenate([P["name"].to_numpy()[persons], E["name"].to_numpy()[entities]])
    return df


def _adults(P: pd.DataFrame) -> np.ndarray:
    year = np.array([b.year for b in P["birth_date"]])
    ok = (year <= 2000) & (P["phase"] == "initial").to_numpy() & P["death_phase"].isna().to_numpy()
    return np.flatnonzero(ok)


def debtors(P: pd.DataFrame, E: pd.DataFrame, r: random.Random, rng: np.random.Generator) -> pd.DataFrame:
    adults = _adults(P)
    initial = np.flatnonzero((E["phase"] == "initial").to_numpy())
    persons = np.sort(rng.choice(adults, size=min(len(adults), max(2, round(0.006 * len(adults)))), replace=False))
    ents = np.sort(rng.choice(initial, size=min(len(initial), max(2, round(0.03 * len(initial)))), replace=False))
    df = _subjects(P, E, persons, ents)
    n = len(df)
    filed = [rand_date(r, dt.date(2016, 1, 1), dt.date(2025, 12, 1)) for _ in range(n)]
    df["case_no"] = [f"（{d.year}）{ids.CITY_SHORT}01执{r.randint(1, 9999)}号" for d in filed]
    df["obligation"] = [r.choice(OBLIGATIONS).format(n=r.randint(5, 5000) * 1000) for _ in range(n)]
    df["filed_on"] = filed
    df["status"] = rng.choice(np.array(["listed", "removed"]), size=n, p=[0.85, 0.15])
    order = sorted(range(n), key=lambda i: (filed[i], i))
    return finish(df.iloc[order].reset_index(drop=True), "initial", -1.0)


def _decision(r: random.Random, penalty: bool, year: int) -> str:
    return f"{ids.CITY_SHORT}{'罚' if penalty else '许'}〔{year}〕{r.randint(1, 99999)}号"


def sanctions(P: pd.DataFrame, E: pd.DataFrame, r: random.Random, rng: np.random.Generator) -> pd.DataFrame:
    adults = _adults(P)
    initial = np.flatnonzero((E["phase"] == "initial").to_numpy())
    live_e = np.flatnonzero((E["phase"] == "live").to_numpy())
    n_lic = rng.choice([0, 1, 2], size=len(initial), p=[0.35, 0.5, 0.15])
    parts = [  # (record_type, persons, entities, phase)
        ("licence", np.array([], dtype=np.int64), np.repeat(initial, n_lic), "initial"),
        ("penalty", np.array([], dtype=np.int64), initial[rng.random(len(initial)) < 0.08], "initial"),
        ("licence", rng.choice(adults, size=round(0.003 * len(adults))), np.array([], dtype=np.int64), "initial"),
        ("penalty", rng.choice(adults, size=round(0.005 * len(adults))), np.array([], dtype=np.int64), "initial"),
        ("penalty", rng.choice(adults, size=round(0.01 * LIVE_PENALTIES * len(adults))),
         rng.choice(initial, size=round(LIVE_PENALTIES * len(initial))), "live"),
        ("licence", np.array([], dtype=np.int64),
         np.concatenate([live_e, rng.choice(initial, size=round(LIVE_LICENCES * len(initial)))]), "live"),
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
            decided = [rand_date(r, dt.date(2019, 1, 1), dt.date(2025, 12, 20)) for _ in range(n)]
        people = (df["subject_type"] == "person").to_numpy()
        penalty = rtype == "penalty"
        texts = (PERSON_PENALTIES, PENALTIES) if penalty else (PERSON_LICENCES, LICENCES)
        df["record_type"] = rtype
        df["decision_no"] = [_decision(r, penalty, d.year) for d in decided]
        df["content"] = [r.choice(texts[0] if p else texts[1]) + (f"{r.randint(1, 200) * 500}元" if penalty else "")
                         for p in people]
        df["authority"] = [r.choice(AUTHORITIES) for _ in range(n)]
        df["decided_on"] = decided
        df["publicity_until"] = [add_years(d, r.choice((1, 3))) if penalty else None for d in decided]
        frames.append(finish(df, phase, ts))
    out = pd.concat(frames, ignore_index=True)
    initial_rows = out[out["_phase"] == "initial"].sort_values("decided_on", kind="mergesort")
    live_rows = out[out["_phase"] == "live"]
    out = pd.concat([initial_rows, live_rows], ignore_index=True)
    out["_ord"] = np.arange(len(out), dtype=float)
    return out
