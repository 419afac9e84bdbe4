"""Injected data-quality defects and their log.

Each rate is the share of *eligible* cells or rows that get the defect; the number injected is
``round(rate * eligible)``, drawn without replacement, so the log matches the rates exactly.
Every instance is logged as (connector, table, pk, column, defect_type, detail, phase).
"""

from __future__ import annotations

import random

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field

from citydata.synth import ids
from citydata.synth.departments import IDENTIFIERS
from citydata.synth.pools import SIMILAR

Key = tuple[str, str]
DUP_TABLES = (("public_security", "persons"), ("civil_affairs", "deaths"), ("hrss", "enrolments"),
              ("market_regulation", "enterprises"), ("tax", "taxpayers"))
TAX = ("tax", "taxpayers")
ENTERPRISES = ("market_regulation", "enterprises")
NEVER_NULL = {"subject_type", "record_type", "registration_type", "updated_at"}
LOG_COLUMNS = ["connector", "table", "pk", "column", "defect_type", "detail", "phase"]


class DefectRates(BaseModel):
    """Share of eligible cells / rows receiving each defect (eligibility in brackets)."""

    model_config = ConfigDict(extra="forbid")
    id_wrong_check_digit: float = Field(0.02, ge=0, le=1)   # person ID cells
    id_legacy_15: float = Field(0.03, ge=0, le=1)           # person ID cells of persons born 19xx
    name_variant: float = Field(0.03, ge=0, le=1)           # name cells (spaces, full/half width)
    name_typo: float = Field(0.01, ge=0, le=1)              # name cells (a similar wrong character)
    address_conflict: float = Field(0.03, ge=0, le=1)       # hukou person rows vs their household
    address_variant: float = Field(0.03, ge=0, le=1)        # hukou person and household address cells
    duplicate_row: float = Field(0.01, ge=0, le=1)          # initial rows of DUP_TABLES
    missing_field: float = Field(0.02, ge=0, le=1)          # all rows (one non-key column nulled)
    deceased_still_active: float = Field(0.05, ge=0, le=1)  # initial deaths (live deaths: always)
    legal_rep_not_in_household: float = Field(0.03, ge=0, le=1)  # initial entities
    uscc_wrong_check: float = Field(0.02, ge=0, le=1)       # USCC cells
    uscc_missing: float = Field(0.05, ge=0, le=1)           # tax USCC cells of enterprises with a 工商注册号


class DefectLog:
    def __init__(self) -> None:
        self.rows: list[tuple] = []
        self.stats: dict[str, dict[str, int]] = {}

    def add(self, key: Key, pk: int, column: str | None, kind: str, detail: str, phase: str) -> None:
        self.rows.append((key[0], key[1], int(pk), column, kind, detail, phase))

    def stat(self, kind: str, injected: int, eligible: int) -> None:
        self.stats[kind] = {"injected": int(injected), "eligible": int(eligible)}

    def frame(self) -> pd.DataFrame:
        return pd.DataFrame(self.rows, columns=LOG_COLUMNS)


def pick(rng: np.random.Generator, n: int, rate: float, exclude: np.ndarray | None = None) -> np.ndarray:
    """Sorted positions of ``round(rate * n)`` cells out of ``n`` (skipping ``exclude``)."""
    allowed = np.arange(n) if exclude is None else np.setdiff1d(np.arange(n), exclude)
    k = min(len(allowed), round(rate * n))
    return np.sort(rng.choice(allowed, size=k, replace=False)) if k else np.array([], dtype=np.int64)


def add_duplicates(tables: dict[Key, pd.DataFrame], rate: float, rng: np.random.Generator,
                   log: DefectLog) -> None:
    """Copy some initial rows; each copy gets its own key later (``_dup_of`` = original ``_row``)."""
    cells = [(key, i) for key in DUP_TABLES if key in tables
             for i in np.flatnonzero((tables[key]["_phase"] == "initial").to_numpy())]
    chosen = pick(rng, len(cells), rate)
    for df in tables.values():
        df["_row"] = np.arange(len(df))
        df["_dup_of"] = -1
    for key in DUP_TABLES:
        rows = [cells[c][1] for c in chosen if cells[c][0] == key]
        if not rows:
            continue
        df = tables[key]
        dup = df.iloc[rows].copy()
        dup["_dup_of"] = dup["_row"].to_numpy()
        dup["_row"] = np.arange(len(df), len(df) + len(dup))
        dup["_ord"] = rng.uniform(0, int((df["_phase"] == "initial").sum()), len(dup))
        tables[key] = pd.concat([df, dup], ignore_index=True)
    log.stat("duplicate_row", len(chosen), len(cells))


def log_duplicates(tables: dict[Key, pd.DataFrame], pks: dict[Key, str], log: DefectLog) -> None:
    for key in DUP_TABLES:
        if key not in tables:
            continue
        df, pk = tables[key], pks[key]
        pk_of = dict(zip(df["_row"], df[pk]))
        first = IDENTIFIERS[key][0][0]
        for p, orig in zip(df.loc[df["_dup_of"] >= 0, pk], df.loc[df["_dup_of"] >= 0, "_dup_of"]):
            log.add(key, p, first, "duplicate_row", f"duplicate of {pk_of[orig]}", "initial")


class Editor:
    """Cell edits on object-array copies of the columns, written back once by :meth:`flush`
    (pandas single-cell access is far too slow for this). Every edit is logged."""

    def __init__(self, tables: dict[Key, pd.DataFrame], pks: dict[Key, str], log: DefectLog):
        self.tables, self.pks, self.log = tables, pks, log
        self.arrays: dict[tuple[Key, str], np.ndarray] = {}
        self.dirty: set[tuple[Key, str]] = set()
        self.touched: set[tuple[Key, str, int]] = set()

    def col(self, key: Key, col: str) -> np.ndarray:
        if (key, col) not in self.arrays:
            s = self.tables[key][col]
            self.arrays[(key, col)] = s.astype(object).where(s.notna(), None).to_numpy(dtype=object, copy=True)
        return self.arrays[(key, col)]

    def get(self, key: Key, col: str, i: int) -> object:
        return self.col(key, col)[i]

    def set(self, key: Key, col: str, i: int, value: object, kind: str, detail: str = "",
            phase: str | None = None) -> None:
        self.col(key, col)[i] = value
        self.dirty.add((key, col))
        self.touched.add((key, col, i))
        pk = self.get(key, self.pks[key], i)
        self.log.add(key, pk, col, kind, detail, phase or self.get(key, "_phase", i))

    def flush(self) -> None:
        for key, col in sorted(self.dirty):
            df = self.tables[key]
            df[col] = pd.Series(self.arrays[(key, col)], index=df.index, dtype=object)
        self.dirty.clear()


class Cells:
    """A flat list of cells over several (table, column) segments, with their current values."""

    def __init__(self, segments: list[tuple[Key, str, np.ndarray]], ed: Editor):
        self.segments = segments
        sizes = [len(rows) for _, _, rows in segments]
        self.seg = np.repeat(np.arange(len(segments)), sizes)
        self.row = np.concatenate([rows for _, _, rows in segments]) if segments else np.array([], int)
        self.values = np.concatenate(
            [ed.col(k, c)[rows] for k, c, rows in segments]
        ) if segments else np.array([], dtype=object)

    def __len__(self) -> int:
        return len(self.row)

    def __getitem__(self, c: int) -> tuple[Key, str, int]:
        key, col, _ = self.segments[self.seg[c]]
        return key, col, int(self.row[c])


def _cells(ed: Editor, kind: str) -> Cells:
    """Non-null identifier cells of persons or of entities."""
    segs = []
    for key, specs in IDENTIFIERS.items():
        if key not in ed.tables:
            continue
        for col, _, _ in specs:
            values = ed.col(key, col)
            mask = (ed.col(key, f"_t_{col}") == kind) & np.array([v is not None for v in values], dtype=bool)
            segs.append((key, col, np.flatnonzero(mask)))
    return Cells(segs, ed)


def _person_variant(name: str, r: random.Random) -> str:
    s, g = name[:1], name[1:]
    return r.choice((f"{s} {g}", f"{s}\u3000{g}", f" {name}", f"{name} ", f"{s}  {g}"))


def _entity_variant(name: str, r: random.Random) -> str:
    if "（" in name:
        return name.replace("（", "(").replace("）", ")")
    for suffix in ("股份有限公司", "有限责任公司", "有限公司"):
        if name.endswith(suffix):
            return r.choice((name[: -len(suffix)] + " " + suffix, name + "\u3000"))
    return r.choice((name + " ", " " + name))


def _typo(name: str) -> str | None:
    for i, c in enumerate(name):
        if c in SIMILAR:
            return name[:i] + SIMILAR[c] + name[i + 1:]
    return None


def identifier_defects(ed: Editor, rates: DefectRates, rng: np.random.Generator) -> None:
    people = _cells(ed, "person")
    wrong = pick(rng, len(people), rates.id_wrong_check_digit)
    for c in wrong:
        key, col, i = people[c]
        old = ed.get(key, col, i)
        ed.set(key, col, i, ids.wrong_check_ric(old, int(rng.integers(0, 10))), "id_wrong_check_digit",
               f"true {old}")
    ed.log.stat("id_wrong_check_digit", len(wrong), len(people))
    legacy_cells = np.flatnonzero(np.array([v[6:8] == "19" for v in people.values], dtype=bool))
    chosen = pick(rng, len(legacy_cells), rates.id_legacy_15, np.flatnonzero(np.isin(legacy_cells, wrong)))
    for c in legacy_cells[chosen]:
        key, col, i = people[c]
        ed.set(key, col, i, ids.to_legacy15(ed.get(key, col, i)), "id_legacy_15")
    ed.log.stat("id_legacy_15", len(chosen), len(legacy_cells))
    ents = _cells(ed, "entity")
    bad = pick(rng, len(ents), rates.uscc_wrong_check)
    for c in bad:
        key, col, i = ents[c]
        old = ed.get(key, col, i)
        ed.set(key, col, i, ids.wrong_check_uscc(old, int(rng.integers(0, 30))), "uscc_wrong_check",
               f"true {old}")
    ed.log.stat("uscc_wrong_check", len(bad), len(ents))
    _uscc_missing(ed, rates, rng)


def _uscc_missing(ed: Editor, rates: DefectRates, rng: np.random.Generator) -> None:
    """Tax rows of enterprises registered before the USCC that give only the 15-digit 工商注册号."""
    if TAX not in ed.tables or ENTERPRISES not in ed.tables:
        return
    registered = {n for n in ed.col(ENTERPRISES, "registration_no") if isinstance(n, str)}
    codes, reg_nos = ed.col(TAX, "uscc"), ed.col(TAX, "registration_no")
    rows = np.flatnonzero(np.array([isinstance(c, str) and n in registered and (TAX, "uscc", i) not in ed.touched
                                    for i, (c, n) in enumerate(zip(codes, reg_nos))], dtype=bool))
    chosen = rows[pick(rng, len(rows), rates.uscc_missing)]
    for i in chosen:
        ed.set(TAX, "uscc", int(i), None, "uscc_missing", f"true {codes[i]}; registration_no {reg_nos[i]}")
    ed.log.stat("uscc_missing", len(chosen), len(rows))


def name_defects(ed: Editor, rates: DefectRates, rng: np.random.Generator, r: random.Random) -> None:
    segs, kinds = [], []
    for key, specs in IDENTIFIERS.items():
        if key not in ed.tables:
            continue
        for col, _, name_col in specs:
            if name_col:
                rows = np.flatnonzero(np.array([v is not None for v in ed.col(key, name_col)], dtype=bool))
                segs.append((key, name_col, rows))
                kinds.append(ed.col(key, f"_t_{col}")[rows])
    cells = Cells(segs, ed)
    kind_of = np.concatenate(kinds) if kinds else np.array([], dtype=object)
    variant = pick(rng, len(cells), rates.name_variant)
    for c in variant:
        key, col, i = cells[c]
        old = ed.get(key, col, i)
        new = _person_variant(old, r) if kind_of[c] == "person" else _entity_variant(old, r)
        ed.set(key, col, i, new, "name_variant", f"true {old}")
    typo_ok = np.array([_typo(v) is not None for v in cells.values], dtype=bool)
    k = min(round(rates.name_typo * len(cells)), int(typo_ok.sum()))
    allowed = np.setdiff1d(np.flatnonzero(typo_ok), variant)
    typos = np.sort(rng.choice(allowed, size=min(k, len(allowed)), replace=False))
    for c in typos:
        key, col, i = cells[c]
        old = ed.get(key, col, i)
        ed.set(key, col, i, _typo(old), "name_typo", f"true {old}")
    ed.log.stat("name_variant", len(variant), len(cells))
    ed.log.stat("name_typo", len(typos), len(cells))
