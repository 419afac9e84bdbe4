"""Row-level defects: conflicting addresses, other spellings of the same address, missing fields, and the defects that follow from
the true city (deaths still 'active' in household registration, non-resident legal representatives).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd

from citydata.synth import ids
from citydata.synth.defects import NEVER_NULL, DefectLog, DefectRates, Editor, Key, pick

PERSONS = ("public_security", "persons")
HOUSEHOLDS = ("public_security", "households")
ENTERPRISES = ("market_regulation", "enterprises")
FULL_WIDTH = str.maketrans("0123456789", "０１２３４５６７８９")


def address_conflicts(ed: Editor, rates: DefectRates, rng: np.random.Generator,
                      new_address: Callable[[], str]) -> None:
    """Some household-registration person rows carry an address other than their household's."""
    if PERSONS not in ed.tables:
        return
    rows = np.flatnonzero(np.array([v is not None for v in ed.col(PERSONS, "address")], dtype=bool))
    chosen = rows[pick(rng, len(rows), rates.address_conflict)]
    for i in chosen:
        old = ed.get(PERSONS, "address", int(i))
        new = new_address()
        while new == old:
            new = new_address()
        ed.set(PERSONS, "address", int(i), new, "address_conflict", f"household address {old}")
    ed.log.stat("address_conflict", len(chosen), len(rows))


def _address_variant(address: str, pick_: int) -> str:
    """The same address spelt another way (what normalise_address undoes)."""
    rewrites = (
        lambda a: a.translate(FULL_WIDTH),
        lambda a: a.replace("号楼", "栋", 1),
        lambda a: a.replace("号楼", "幢", 1).replace("门", "单元", 1),
        lambda a: a.removeprefix(ids.CITY_NAME),
        lambda a: a.replace(ids.CITY_NAME, ids.CITY_NAME[:-1], 1) + "室",
        lambda a: a.replace("区", "区 ", 1).replace("号楼", " 号楼", 1),
    )
    return rewrites[pick_ % len(rewrites)](address)


def address_variants(ed: Editor, rates: DefectRates, rng: np.random.Generator) -> None:
    """Some household-registration person and household rows spell their address another way."""
    segs = [(key, np.flatnonzero(np.array([v is not None and (key, "address", i) not in ed.touched
                                            for i, v in enumerate(ed.col(key, "address"))], dtype=bool)))
            for key in (PERSONS, HOUSEHOLDS) if key in ed.tables]
    offsets = np.cumsum([0] + [len(rows) for _, rows in segs])
    chosen = pick(rng, int(offsets[-1]), rates.address_variant)
    for c in chosen:
        s = int(np.searchsorted(offsets, c, side="right") - 1)
        key, i = segs[s][0], int(segs[s][1][c - offsets[s]])
        old = ed.get(key, "address", i)
        new = _address_variant(old, int(rng.integers(0, 6)))
        if new != old:
            ed.set(key, "address", i, new, "address_variant", f"true {old}")
    ed.log.stat("address_variant", len(chosen), int(offsets[-1]))


def missing_fields(ed: Editor, rates: DefectRates, rng: np.random.Generator) -> None:
    """One non-key column set to NULL in some rows (never a column that already has a defect)."""
    keys = list(ed.tables)
    offsets = np.cumsum([0] + [len(ed.tables[k]) for k in keys])
    chosen = pick(rng, int(offsets[-1]), rates.missing_field)
    done = 0
    for c in chosen:
        t = int(np.searchsorted(offsets, c, side="right") - 1)
        key, i = keys[t], int(c - offsets[t])
        skip = set(NEVER_NULL) | {ed.pks[key]} | ({"status"} if key == PERSONS else set())
        cols = [col for col in ed.tables[key].columns if not col.startswith("_") and col not in skip
                and (key, col, i) not in ed.touched and not _isnull(ed.get(key, col, i))]
        if cols:
            ed.set(key, cols[int(rng.integers(0, len(cols)))], i, None, "missing_field")
            done += 1
    ed.log.stat("missing_field", done, int(offsets[-1]))


def _isnull(v: object) -> bool:
    return v is None or (isinstance(v, float) and np.isnan(v)) or v is pd.NA


def derived_defects(tables: dict[Key, pd.DataFrame], pks: dict[Key, str], P: pd.DataFrame,
                    log: DefectLog) -> None:
    """Log every hukou row of a dead person still 'active' and every non-resident legal rep."""
    if PERSONS in tables:
        df = tables[PERSONS]
        who = df["_k_id_number"].to_numpy()
        died = P["died_on"].to_numpy()[who]
        when = P["death_phase"].to_numpy()[who]
        hit = np.flatnonzero(pd.notna(died) & (df["status"] == "active").to_numpy())
        for i in hit:  # phase = when the death was registered
            log.add(PERSONS, df.at[i, pks[PERSONS]], "status", "deceased_still_active",
                    f"died {died[i]}", when[i])
    if ENTERPRISES in tables:
        df = tables[ENTERPRISES]
        resident = P["resident"].to_numpy()[df["_k_legal_rep_id_number"].to_numpy()]
        for i in np.flatnonzero(~resident):
            log.add(ENTERPRISES, df.at[i, pks[ENTERPRISES]], "legal_rep_id_number",
                    "legal_rep_not_in_household", "no household registration", df.at[i, "_phase"])
