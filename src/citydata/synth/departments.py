"""Source rows of the population departments (public security, civil affairs, health, hrss).

Every builder returns the declared non-key columns plus hidden bookkeeping columns that
:mod:`citydata.synth.assemble` strips: ``_phase`` ('initial'/'live'), ``_ts`` (seconds after
BASE for live rows), ``_ord`` (row order) and, per identifier column ``c``, ``_k_c`` (the true
person pid / entity eid behind it) and ``_t_c`` ('person' / 'entity').
"""

from __future__ import annotations

import datetime as dt
import random

import numpy as np
import pandas as pd

from citydata.synth.events import LIVE_WINDOW_S
from citydata.synth.pools import DEATH_PLACES, HOSPITALS

# (connector, table) -> [(identifier column, subject kind or None = per-row '_t_', name column)]
IDENTIFIERS: dict[tuple[str, str], list[tuple[str, str | None, str | None]]] = {
    ("public_security", "persons"): [("id_number", "person", "name")],
    ("public_security", "households"): [("head_id_number", "person", None)],
    ("civil_affairs", "marriages"): [("husband_id_number", "person", "husband_name"),
                                     ("wife_id_number", "person", "wife_name")],
    ("civil_affairs", "deaths"): [("id_number", "person", "name")],
    ("health", "births"): [("child_id_number", "person", "child_name"),
                           ("mother_id_number", "person", None), ("father_id_number", "person", None)],
    ("hrss", "enrolments"): [("id_number", "person", "name"), ("employer_uscc", "entity", "employer_name")],
    ("market_regulation", "enterprises"): [("uscc", "entity", "name"),
                                           ("legal_rep_id_number", "person", "legal_rep_name")],
    ("tax", "taxpayers"): [("uscc", "entity", "name")],
    ("court", "dishonest_debtors"): [("subject_code", None, "subject_name")],
    ("ndrc", "sanctions"): [("subject_code", None, "subject_name")],
}


def ident(df: pd.DataFrame, col: str, keys: np.ndarray, codes: np.ndarray, kind: str | np.ndarray) -> None:
    """Set identifier column ``col`` to the true codes of ``keys`` and remember who they are."""
    keys = np.asarray(keys, dtype=np.int64)
    df[col] = codes[keys]
    df[f"_k_{col}"] = keys
    df[f"_t_{col}"] = kind


def finish(df: pd.DataFrame, phase: np.ndarray | str, ts: np.ndarray | float) -> pd.DataFrame:
    """Add the bookkeeping columns; text columns become plain ``object`` (cheap cell edits)."""
    for c in df.columns:
        if pd.api.types.is_string_dtype(df[c].dtype) and df[c].dtype != object:
            df[c] = df[c].astype(object)
    df["_phase"] = phase
    df["_ts"] = np.asarray(ts, dtype=float) if not np.isscalar(ts) else float(ts)
    df["_ord"] = np.arange(len(df), dtype=float)
    return df.reset_index(drop=True)


def later(ts: np.ndarray, r: random.Random, lo: int, hi: int) -> np.ndarray:
    """A live time somewhat after ``ts`` (still inside the live window); -1 stays -1."""
    out = np.array([min(t + r.randint(lo, hi), LIVE_WINDOW_S - 1) if t >= 0 else -1.0 for t in ts])
    return out


def hukou_persons(P: pd.DataFrame, still_active: set[int], r: random.Random,
                  rng: np.random.Generator) -> pd.DataFrame:
    res = P[P["resident"]]
    df = pd.DataFrame(index=res.index)
    ident(df, "id_number", res["pid"].to_numpy(), P["id_number"].to_numpy(), "person")
    for c in ("name", "gender", "birth_date", "ethnicity", "household_id", "address", "division_code"):
        df[c] = res[c].to_numpy()
    dead_initial = (res["death_phase"] == "initial").to_numpy()
    status = np.where(dead_initial, "cancelled", "active").astype(object)
    status[np.isin(res["pid"].to_numpy(), sorted(still_active))] = "active"
    moved = (~dead_initial) & (res["phase"] == "initial").to_numpy() & (rng.random(len(res)) < 0.01)
    status[moved] = "moved_out"
    df["status"] = status
    return finish(df, res["phase"].to_numpy(), later(res["ts"].to_numpy(), r, 3600, 3 * 86400))


def households(H: pd.DataFrame, P: pd.DataFrame) -> pd.DataFrame:
    df = pd.DataFrame({"household_id": H["household_id"].to_numpy()})
    ident(df, "head_id_number", H["head"].to_numpy(), P["id_number"].to_numpy(), "person")
    for c in ("address", "division_code", "registered_on"):
        df[c] = H[c].to_numpy()
    return finish(df, "initial", -1.0)


def marriages(C: pd.DataFrame, D: pd.DataFrame, P: pd.DataFrame) -> pd.DataFrame:
    ids_, names = P["id_number"].to_numpy(), P["name"].to_numpy()
    both = pd.concat([C.assign(registration_type="marriage"),
                      D.assign(registration_type="divorce", phase="initial", ts=-1.0)], ignore_index=True)
    both = both.sort_values(["phase", "ts", "registered_on"], kind="mergesort", ignore_index=True)
    df = pd.DataFrame(index=both.index)
    ident(df, "husband_id_number", both["husband"].to_numpy(dtype="int64"), ids_, "person")
    df["husband_name"] = names[both["husband"].to_numpy(dtype="int64")]
    ident(df, "wife_id_number", both["wife"].to_numpy(dtype="int64"), ids_, "person")
    df["wife_name"] = names[both["wife"].to_numpy(dtype="int64")]
    df["registration_type"] = both["registration_type"].to_numpy()
    df["registered_on"] = both["registered_on"].to_numpy()
    return finish(df, both["phase"].to_numpy(), both["ts"].to_numpy())


def deaths(P: pd.DataFrame, r: random.Random) -> pd.DataFrame:
    dead = P[P["death_phase"].notna()].sort_values(["death_phase", "death_ts", "died_on"], kind="mergesort")
    df = pd.DataFrame(index=dead.index)
    ident(df, "id_number", dead["pid"].to_numpy(), P["id_number"].to_numpy(), "person")
    df["name"] = dead["name"].to_numpy()
    df["died_on"] = dead["died_on"].to_numpy()
    df["place"] = [r.choice(DEATH_PLACES) for _ in range(len(dead))]
    return finish(df, dead["death_phase"].to_numpy(), dead["death_ts"].to_numpy())


def births(P: pd.DataFrame, r: random.Random) -> pd.DataFrame:
    kids = P[(P["father"] >= 0) & (P["mother"] >= 0)
             & (P["birth_date"] >= dt.date(2005, 1, 1))]
    ids_ = P["id_number"].to_numpy()
    df = pd.DataFrame(index=kids.index)
    ident(df, "child_id_number", kids["pid"].to_numpy(), ids_, "person")
    df["child_name"] = kids["name"].to_numpy()
    df["gender"] = kids["gender"].to_numpy()
    df["born_on"] = kids["birth_date"].to_numpy()
    ident(df, "mother_id_number", kids["mother"].to_numpy(), ids_, "person")
    ident(df, "father_id_number", kids["father"].to_numpy(), ids_, "person")
    df["hospital"] = [r.choice(HOSPITALS) for _ in range(len(kids))]
    return finish(df, kids["phase"].to_numpy(), kids["ts"].to_numpy())


def enrolments(P: pd.DataFrame, E: pd.DataFrame, r: random.Random, rng: np.random.Generator) -> pd.DataFrame:
    emp = P[P["employer"] >= 0]
    n = len(emp)
    mobile = np.array([f"1{a}{b:09d}" for a, b in zip(rng.integers(3, 10, n), rng.integers(0, 10**9, n))])
    employer = emp["employer"].to_numpy()
    ended = (emp["death_phase"] == "initial").to_numpy() | (E["status"].to_numpy()[employer] != "active")
    parts = []
    for itype, share in (("pension", 1.0), ("medical", 0.9), ("unemployment", 0.6)):
        take = rng.random(n) < share
        parts.append(pd.DataFrame({"_i": np.flatnonzero(take), "insurance_type": itype}))
    rows = pd.concat(parts, ignore_index=True).sort_values(["_i"], kind="mergesort", ignore_index=True)
    i = rows["_i"].to_numpy()
    df = pd.DataFrame(index=rows.index)
    ident(df, "id_number", emp["pid"].to_numpy()[i], P["id_number"].to_numpy(), "person")
    df["name"] = emp["name"].to_numpy()[i]
    df["mobile"] = mobile[i]
    ident(df, "employer_uscc", employer[i], E["uscc"].to_numpy(), "entity")
    df["employer_name"] = E["name"].to_numpy()[employer[i]]
    df["insurance_type"] = rows["insurance_type"].to_numpy()
    df["started_on"] = emp["employed_on"].to_numpy()[i]
    status = rng.choice(np.array(["active", "suspended", "ended"]), size=len(rows), p=[0.9, 0.05, 0.05])
    status = np.where(ended[i], "ended", status)
    hire = emp["hire_ts"].to_numpy()[i]
    status = np.where(hire >= 0, "active", status)
    df["status"] = status
    phase = np.where(hire >= 0, "live", "initial")
    return finish(df, phase, later(hire, r, 0, 600))
