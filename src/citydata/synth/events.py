"""Life events of the true persons: deaths before the initial load, and the live burst.

Times are seconds after :data:`BASE` (2026-01-01 00:00 UTC): initial rows were last updated before
it, live changes happen within :data:`LIVE_WINDOW_S` after it. Nothing reads the wall clock.
"""

from __future__ import annotations

import datetime as dt
import random

import pandas as pd

from citydata.synth.city import END, People, add_years, rand_date

BASE = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
LIVE_WINDOW_S = 30 * 86400

# Live-burst volumes, as shares of the initial number of true persons.
LIVE_BIRTHS = 0.004
LIVE_DEATHS = 0.004
LIVE_MARRIAGES = 0.002


def live_date(ts: float) -> dt.date:
    return (BASE + dt.timedelta(seconds=ts)).date()


def live_times(r: random.Random, n: int) -> list[float]:
    return sorted(float(r.randrange(60, LIVE_WINDOW_S)) for _ in range(n))


def initial_deaths(ppl: People, r: random.Random) -> None:
    """Older residents die before the snapshot with a probability rising with age."""
    for pid, (b, res) in enumerate(zip(ppl.birth, ppl.resident)):
        if not res or b.year >= 1962:
            continue
        p = min(1.0, (2025 - b.year - 60) / 35) * 0.32
        if p > 0 and r.random() < p:
            start = max(add_years(b, 60), dt.date(2010, 1, 1))
            ppl.died[pid] = (rand_date(r, start, END), "initial", -1.0)


def _alive(ppl: People, pid: int) -> bool:
    return pid not in ppl.died


def live_births(ppl: People, r: random.Random, n_persons: int) -> None:
    """Newborns of resident couples (mother born 1988–2003), joining the mother's household."""
    mothers = [p for p in range(len(ppl.birth))
               if not ppl.male[p] and ppl.spouse[p] >= 0 and ppl.resident[p]
               and 1988 <= ppl.birth[p].year <= 2003 and _alive(ppl, p) and _alive(ppl, ppl.spouse[p])]
    n = min(len(mothers), max(1, round(LIVE_BIRTHS * n_persons)))
    chosen = r.sample(mothers, n)
    for ts, m in zip(live_times(r, n), chosen):
        ppl.add(live_date(ts), r.random() < 0.51, ppl.household[m], father=ppl.spouse[m], mother=m,
                phase="live", ts=ts)


def live_deaths(ppl: People, r: random.Random, n_persons: int) -> None:
    """Deaths registered during the burst (the household registration row stays 'active')."""
    old = [p for p in range(len(ppl.birth))
           if ppl.resident[p] and ppl.phase[p] == "initial" and ppl.birth[p].year < 1950
           and _alive(ppl, p)]
    n = min(len(old), max(1, round(LIVE_DEATHS * n_persons)))
    for ts, p in zip(live_times(r, n), r.sample(old, n)):
        ppl.died[p] = (live_date(ts), "live", ts)


def live_marriages(ppl: People, r: random.Random, n_persons: int,
                   couples: pd.DataFrame) -> pd.DataFrame:
    """Unmarried resident adults (born 1985–2003) who marry during the burst."""
    free = [p for p in range(len(ppl.birth))
            if ppl.resident[p] and ppl.spouse[p] < 0 and ppl.father[p] < 0
            and 1985 <= ppl.birth[p].year <= 2003 and _alive(ppl, p)]
    men = [p for p in free if ppl.male[p]]
    women = [p for p in free if not ppl.male[p]]
    n = min(len(men), len(women), max(1, round(LIVE_MARRIAGES * n_persons)))
    rows = []
    for ts, h, w in zip(live_times(r, n), r.sample(men, n), r.sample(women, n)):
        ppl.spouse[h], ppl.spouse[w] = w, h
        rows.append((h, w, live_date(ts), "live", ts))
    live = pd.DataFrame(rows, columns=["husband", "wife", "registered_on", "phase", "ts"])
    couples = couples.assign(ts=-1.0)
    return pd.concat([couples, live], ignore_index=True)


def divorces(couples: pd.DataFrame, ppl: People, r: random.Random, share: float = 0.04) -> pd.DataFrame:
    """A few initial couples also have a divorce registration (they stay in one household)."""
    rows = []
    for c in couples.itertuples(index=False):
        if c.phase == "initial" and r.random() < share:
            start = add_years(c.registered_on, 2)
            if start < END:
                rows.append((c.husband, c.wife, rand_date(r, start, END)))
    return pd.DataFrame(rows, columns=["husband", "wife", "registered_on"])
