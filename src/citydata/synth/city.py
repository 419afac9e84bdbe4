"""The true city: persons, households and couples (the ground truth behind every source row).

Residents live in households (singles, couples, couples with children); a few non-residents
(migrant workers, legal representatives from elsewhere) have no household registration.
Everything is drawn from ``random.Random`` / ``numpy.random.Generator`` seeded from the seed.
"""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass

import numpy as np
import pandas as pd

from citydata.synth import ids
from citydata.synth.pools import ETHNICITIES, ETHNICITY_WEIGHTS, Pools

END = dt.date(2025, 12, 31)
ADULT_YEARS = np.arange(1935, 2001)
_DECADE_W = {1935: 4, 1945: 10, 1955: 17, 1965: 18, 1975: 18, 1985: 18, 1995: 15}


def _year_weights(years: np.ndarray) -> np.ndarray:
    w = np.array([_DECADE_W[1935 + 10 * ((y - 1935) // 10)] for y in years], dtype=float)
    return w / w.sum()


def rand_date(r: random.Random, start: dt.date, end: dt.date) -> dt.date:
    days = (end - start).days
    return start + dt.timedelta(days=r.randint(0, max(days, 0)))


def add_years(d: dt.date, years: int) -> dt.date:
    try:
        return d.replace(year=d.year + years)
    except ValueError:  # 29 February
        return d.replace(year=d.year + years, day=28)


@dataclass
class People:
    """Column lists while generating; turned into the ``persons`` frame by :func:`to_frame`."""

    birth: list[dt.date]
    male: list[bool]
    household: list[int]
    spouse: list[int]
    father: list[int]
    mother: list[int]
    resident: list[bool]
    phase: list[str]
    ts: list[float]
    died: dict[int, tuple[dt.date, str, float]]

    def add(self, birth: dt.date, male: bool, household: int, resident: bool = True,
            father: int = -1, mother: int = -1, phase: str = "initial", ts: float = -1.0) -> int:
        self.birth.append(birth)
        self.male.append(male)
        self.household.append(household)
        self.spouse.append(-1)
        self.father.append(father)
        self.mother.append(mother)
        self.resident.append(resident)
        self.phase.append(phase)
        self.ts.append(ts)
        return len(self.birth) - 1


def new_people() -> People:
    return People([], [], [], [], [], [], [], [], [], {})


class Addresser:
    """Builds Tianjin-style addresses in a district from the street and community pools."""

    def __init__(self, pools: Pools, r: random.Random):
        self.pools, self.r = pools, r
        self.divs = ids.current_divisions()
        self.weights = [3 if d.code == "120116" else 1 for d in self.divs]

    def division(self) -> ids.Division:
        return self.r.choices(self.divs, self.weights)[0]

    def home(self, div: ids.Division) -> str:
        r, p = self.r, self.pools
        street = p.streets[r.randrange(len(p.streets))]
        comm = p.communities[r.randrange(len(p.communities))]
        return (f"{ids.CITY_NAME}{div.name_in(2026)}{street}{r.randint(1, 399)}号{comm}"
                f"{r.randint(1, 40)}号楼{r.randint(1, 6)}门{r.randint(1, 30)}0{r.randint(1, 4)}")

    def office(self, div: ids.Division) -> str:
        r, p = self.r, self.pools
        street = p.streets[r.randrange(len(p.streets))]
        return f"{ids.CITY_NAME}{div.name_in(2026)}{street}{r.randint(1, 999)}号{r.randint(1, 28)}层"


def build_households(n_res: int, r: random.Random, rng: np.random.Generator,
                     addr: Addresser) -> tuple[People, pd.DataFrame, pd.DataFrame]:
    """Residents grouped into households; returns (people, households, couples)."""
    ppl = new_people()
    hh_rows: list[tuple] = []
    couples: list[tuple] = []
    years, yw = ADULT_YEARS, _year_weights(ADULT_YEARS)
    single_years = np.arange(1935, 2008)
    sw = _year_weights(np.minimum(single_years, 2000))
    couple_y = rng.choice(years, size=n_res + 2, p=yw)
    single_y = rng.choice(single_years, size=n_res + 2, p=sw)
    i = 0
    while len(ppl.birth) < n_res:
        remaining = n_res - len(ppl.birth)
        hid = len(hh_rows) + 1
        div = addr.division()
        i += 1
        if remaining < 2 or r.random() < 0.32:
            b = rand_date(r, dt.date(int(single_y[i]), 1, 1), dt.date(int(single_y[i]), 12, 31))
            head = ppl.add(b, r.random() < 0.5, hid)
            reg = rand_date(r, max(add_years(b, 18), dt.date(1958, 1, 9)), END)
        else:
            hy = int(couple_y[i])
            wy = min(hy + r.randint(-2, 5), 2003)
            hb = rand_date(r, dt.date(hy, 1, 1), dt.date(hy, 12, 31))
            wb = rand_date(r, dt.date(wy, 1, 1), dt.date(wy, 12, 31))
            head = ppl.add(hb, True, hid)
            wife = ppl.add(wb, False, hid)
            ppl.spouse[head], ppl.spouse[wife] = wife, head
            married = rand_date(r, max(add_years(hb, 22), add_years(wb, 20)),
                                min(add_years(max(hb, wb), 30), dt.date(2025, 11, 30)))
            couples.append((head, wife, married, "initial"))
            reg = married
            if wy >= 1962:
                k = r.choices((0, 1, 2, 3), (0.2, 0.45, 0.28, 0.07))[0]
                for _ in range(min(k, n_res - len(ppl.birth))):
                    kb = married + dt.timedelta(days=r.randint(300, 12 * 365))
                    if dt.date(1995, 1, 1) <= kb <= END:
                        ppl.add(kb, r.random() < 0.51, hid, father=head, mother=wife)
        hh_rows.append((hid, head, div.code, addr.home(div), min(reg, END)))
    households = pd.DataFrame(hh_rows, columns=["household_id", "head", "division_code",
                                                "address", "registered_on"])
    couple_df = pd.DataFrame(couples, columns=["husband", "wife", "registered_on", "phase"])
    return ppl, households, couple_df


def add_nonresidents(ppl: People, n: int, r: random.Random) -> list[int]:
    out = []
    for _ in range(n):
        y = r.randint(1958, 2000)
        out.append(ppl.add(rand_date(r, dt.date(y, 1, 1), dt.date(y, 12, 31)), r.random() < 0.6,
                           0, resident=False))
    return out


def assign_ids(birth: list[dt.date], male: list[bool], area: list[str],
               rng: np.random.Generator, taken: set[str] | None = None) -> list[str]:
    """Unique 18-digit ID numbers; the sequence is odd for men, even for women."""
    taken = set() if taken is None else taken
    out = []
    for b, m, a in zip(birth, male, area):
        while True:
            s = int(rng.integers(0, 500))
            seq = 2 * s + 1 if m else (2 * s if s else 2)
            value = ids.make_ric(a, b, seq)
            if value not in taken:
                taken.add(value)
                out.append(value)
                break
    return out


def pick_area(r: random.Random, birth: dt.date, division: str, resident: bool) -> str:
    year = birth.year
    if not resident or r.random() < 0.1:
        return r.choice(ids.codes_valid_in(year, elsewhere=True))
    codes = ids.codes_valid_in(year)
    if division in codes and r.random() < 0.85:
        return division
    return r.choice(codes)


def to_frame(ppl: People, households: pd.DataFrame, pools: Pools, r: random.Random,
             rng: np.random.Generator, taken: set[str]) -> pd.DataFrame:
    """Names, ethnicity, address, division and ID numbers for everybody in ``ppl``."""
    n = len(ppl.birth)
    df = pd.DataFrame({
        "pid": np.arange(n), "birth_date": ppl.birth,
        "gender": np.where(np.array(ppl.male), "男", "女"),
        "household_id": np.array(ppl.household, dtype=np.int64),
        "spouse": ppl.spouse, "father": ppl.father, "mother": ppl.mother,
        "resident": ppl.resident, "phase": ppl.phase, "ts": ppl.ts,
    })
    male = np.array(ppl.male)
    surname = rng.choice(pools.surnames, size=n, p=pools.surname_p).astype(object)
    father = df["father"].to_numpy()
    kids = np.flatnonzero(father >= 0)
    surname[kids] = surname[father[kids]]
    given = np.where(male, rng.choice(pools.male_given, size=n), rng.choice(pools.female_given, size=n))
    df["name"] = [s + g for s, g in zip(surname, given)]
    df["ethnicity"] = rng.choice(np.array(ETHNICITIES), size=n, p=np.array(ETHNICITY_WEIGHTS))
    hh = households.set_index("household_id")
    hids = df["household_id"].to_numpy()
    known = hids > 0
    df["address"] = np.where(known, hh["address"].reindex(hids).to_numpy(), None)
    div = np.where(known, hh["division_code"].reindex(hids).to_numpy(), None)
    areas = [pick_area(r, b, d, res) for b, d, res in zip(ppl.birth, div, ppl.resident)]
    df["division_code"] = np.where(known, div, np.array(areas, dtype=object))
    df["id_number"] = assign_ids(ppl.birth, ppl.male, areas, rng, taken)
    died = [ppl.died.get(i, (None, None, -1.0)) for i in range(n)]
    df["died_on"] = [d[0] for d in died]
    df["death_phase"] = [d[1] for d in died]
    df["death_ts"] = [d[2] for d in died]
    return df
