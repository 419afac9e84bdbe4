"""k-anonymity for open datasets (普遍开放数据的去标识化): before an open dataset is published, its
quasi-identifiers are generalised (full-domain recoding along a ladder per column) and the rows
still in groups smaller than k are suppressed, so every published combination of quasi-identifier
values is shared by at least k rows.

The search walks the lattice of generalisation levels from the least generalised up and takes the
first node (fewest total steps; then fewest suppressed rows) whose small groups hold at most
``max_suppression`` of the rows — Samarati's minimal full-domain generalisation. The result is
checked again on the output (:func:`k_of`) before anyone sees it.

Why not ANJANA / pyCANON: both pin pandas 2, numpy 2.0 and an old typer, which this project's
pandas 3 stack cannot take; the algorithm is the textbook one and is tested directly.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Literal

import pandas as pd

from citydata.errors import CityDataError

Ladder = Literal["month", "category"]
SUPPRESSED = "*"


def _month_ladder(value: str) -> list[str]:
    """``YYYY-MM`` → ``YYYY`` → 5-year band → 10-year band → ``*``."""
    year = int(value[:4])
    five, ten = year - year % 5, year - year % 10
    return [value, str(year), f"{five}-{five + 4}", f"{ten}-{ten + 9}", SUPPRESSED]


LADDERS: dict[str, tuple[int, Callable[[str], list[str]]]] = {
    "month": (5, _month_ladder),
    "category": (2, lambda v: [v, SUPPRESSED]),
}


@dataclass(frozen=True)
class KReport:
    """What the check did, recorded with the dataset (serving copy, catalog, audit log)."""

    k: int
    achieved: int  # the smallest group in the output (0: nothing left)
    rows_in: int
    rows_out: int
    suppressed: int
    levels: dict[str, int]  # quasi-identifier → generalisation steps taken
    max_suppression: float

    def to_dict(self) -> dict:
        return asdict(self)


def k_of(frame: pd.DataFrame, quasi: list[str]) -> int:
    """The size of the smallest group of rows sharing all quasi-identifier values (0 if empty)."""
    if frame.empty:
        return 0
    return int(frame.groupby(quasi, dropna=False).size().min())


def _levels(series: pd.Series, ladder: str) -> list[pd.Series]:
    depth, climb = LADDERS[ladder]
    text = series.astype("string").fillna("")  # a missing value is a value like any other
    distinct = {v: climb(v) if v else [v] + [SUPPRESSED] * (depth - 1) for v in text.unique()}
    return [text.map(lambda v, i=i: distinct[v][min(i, len(distinct[v]) - 1)]) for i in range(depth)]


def k_anonymise(frame: pd.DataFrame, quasi: dict[str, str], k: int = 5, max_suppression: float = 0.05
                ) -> tuple[pd.DataFrame, KReport]:
    """``frame`` generalised and suppressed to k-anonymity over ``quasi`` ({column: ladder})."""
    if k < 2:
        raise CityDataError(f"k-anonymity needs k ≥ 2 (got {k})")
    missing = sorted(set(quasi) - set(frame.columns))
    if missing:
        raise CityDataError(f"quasi-identifiers {missing} are not columns of the dataset ({', '.join(frame.columns)})")
    unknown = {c: lad for c, lad in quasi.items() if lad not in LADDERS}
    if unknown:
        raise CityDataError(f"unknown generalisation ladder(s) {unknown}: use one of {', '.join(LADDERS)}")
    columns = list(quasi)
    ladders = {c: _levels(frame[c], quasi[c]) for c in columns}
    best: tuple[tuple[int, int], tuple[int, ...], pd.Series] | None = None
    for node in sorted(itertools.product(*(range(len(ladders[c])) for c in columns)), key=sum):
        if best is not None and sum(node) > best[0][0]:
            break
        keys = pd.DataFrame({c: ladders[c][level] for c, level in zip(columns, node)})
        sizes = keys.groupby(columns, dropna=False)[columns[0]].transform("size")
        small = sizes < k
        if small.sum() <= max_suppression * len(frame):
            score = (sum(node), int(small.sum()))
            if best is None or score < best[0]:
                best = (score, node, small)
    if best is None:  # fewer than k rows (or too many in small groups even at the top): publish none
        top = tuple(len(ladders[c]) - 1 for c in columns)
        best = ((sum(top), len(frame)), top, pd.Series(True, index=frame.index))
    _, node, small = best
    out = frame.copy()
    for c, level in zip(columns, node):
        if level:  # a column left at level 0 keeps its values and type
            out[c] = ladders[c][level].where(ladders[c][level] != "", None)
    out = out[~small].reset_index(drop=True)
    achieved = k_of(out, columns)
    if len(out) and achieved < k:  # cannot happen; refuse rather than publish if it ever does
        raise CityDataError(f"k-anonymisation produced groups of {achieved} < k={k}: nothing published")
    return out, KReport(k, achieved, len(frame), len(out), int(small.sum()),
                        dict(zip(columns, node)), max_suppression)
