"""``generate``: the whole synthetic city, its source tables, live changes and ground truth.

Deterministic: the same (persons, seed, rates, connectors) gives identical tables, changes and
truth — every draw comes from ``random.Random`` / ``numpy`` generators seeded from ``seed``.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from citydata.errors import CityDataError
from citydata.ingest.config import ConnectorConfig, Table, load_connectors
from citydata.synth import assemble, conflicts, defects, departments, registries, truth
from citydata.synth.city import Addresser, add_nonresidents, build_households, to_frame
from citydata.synth.defects import DefectLog, DefectRates
from citydata.synth.entities import LIVE_NEW_ENTITIES, build_entities, cancel_some, employ
from citydata.synth.events import divorces, initial_deaths, live_births, live_deaths, live_marriages
from citydata.synth.live import Change, build_live
from citydata.synth.pools import build_pools

Key = tuple[str, str]
TAX = ("tax", "taxpayers")
MIGRANT_SHARE = 0.03  # non-resident workers (social insurance here, household registration elsewhere)


@dataclass
class SynthCity:
    """A generated city. ``initial`` rows per (connector, table); ``live`` ordered changes."""

    persons: int
    seed: int
    rates: DefectRates
    schemas: dict[Key, Table]
    initial: dict[Key, pd.DataFrame]
    live: list[Change]
    truth: pd.DataFrame            # identifier cells: see truth.TRUTH_COLUMNS
    defects: pd.DataFrame          # defect log: see defects.LOG_COLUMNS
    true_persons: pd.DataFrame
    true_entities: pd.DataFrame
    expected: dict = field(default_factory=dict)

    def final_tables(self) -> dict[Key, pd.DataFrame]:
        """The initial tables with every live change applied (what the sources hold afterwards)."""
        return final_state(self.initial, self.live, self.schemas)


def final_state(initial: dict[Key, pd.DataFrame], live: list[Change],
                schemas: dict[Key, Table]) -> dict[Key, pd.DataFrame]:
    out = {}
    for key, df in initial.items():
        pk = schemas[key].primary_key[0]
        changes = [c for c in live if (c.connector, c.table) == key]
        inserts = [c.values for c in changes if c.op == "insert"]
        full = pd.concat([df, assemble.typed(pd.DataFrame(inserts, columns=df.columns), schemas[key])],
                         ignore_index=True) if inserts else df.copy()
        pos = {int(v): i for i, v in enumerate(full[pk])}
        for c in changes:
            if c.op == "update":
                for col, v in c.values.items():
                    full.at[pos[int(c.key[pk])], col] = v
        gone = {int(c.key[pk]) for c in changes if c.op == "delete"}
        out[key] = assemble.typed(full[~full[pk].astype(int).isin(gone)], schemas[key])
    return out


def _schemas(connectors: list[ConnectorConfig]) -> dict[Key, Table]:
    return {(c.name, t.name): t for c in connectors for t in c.tables}


def _entity_counts(persons: int, entities: int | None) -> tuple[int, int]:
    """(initial, live) true entities: ``entities`` in all, or by default one initial entity per
    ten persons plus :data:`LIVE_NEW_ENTITIES` of that registered during the burst."""
    if entities is None:
        n_ent = max(5, persons // 10)
        return n_ent, max(1, round(LIVE_NEW_ENTITIES * n_ent))
    if entities < 6:
        raise CityDataError(f"entities={entities} is too few: use at least 6")
    n_ent = round(entities / (1 + LIVE_NEW_ENTITIES))
    return n_ent, entities - n_ent


def _build_city(n: int, seed: int, rates: DefectRates, r: random.Random, rng: np.random.Generator,
                entities: int | None = None):
    pools = build_pools(seed)
    addr = Addresser(pools, r)
    n_ent, n_live_ent = _entity_counts(n, entities)
    n_rep = round(rates.legal_rep_not_in_household * n_ent)
    n_mig = round(MIGRANT_SHARE * n)
    if n - n_rep - n_mig < 10:
        raise CityDataError(f"persons={n} is too small for a city"
                            + (f" with {entities} entities" if entities is not None else "") + ": use at least 50")
    ppl, H, couples = build_households(n - n_rep - n_mig, r, rng, addr)
    reps_nonres = add_nonresidents(ppl, n_rep, r)
    add_nonresidents(ppl, n_mig, r)
    initial_deaths(ppl, r)
    live_births(ppl, r, n)
    live_deaths(ppl, r, n)
    couples = live_marriages(ppl, r, n, couples)
    D = divorces(couples, ppl, r)
    P = to_frame(ppl, H, pools, r, rng, set())
    year = np.array([b.year for b in P["birth_date"]])
    cand = np.flatnonzero(P["resident"].to_numpy() & (P["phase"] == "initial").to_numpy()
                          & P["death_phase"].isna().to_numpy() & (year >= 1950) & (year <= 1998))
    E = build_entities(n_ent, n_live_ent, cand, P["birth_date"].tolist(), reps_nonres, pools, r, rng, addr)
    cancel_some(E, r)
    P = employ(P, E, r, rng)
    return pools, addr, P, H, couples, D, E


def generate(persons: int, seed: int, rates: DefectRates | None = None,
             connectors: list[ConnectorConfig] | None = None, *, entities: int | None = None,
             credit_records: int | None = None) -> SynthCity:
    """A synthetic city of ``persons`` true persons (plus newborns of the live burst).

    ``connectors`` defaults to the definitions in ``Settings().connectors_dir``. ``entities`` is the
    number of true legal entities (default about one per ten persons); ``credit_records`` the
    approximate number of court listings, NDRC licences / penalties / honours and rated taxpayer
    rows together (default: the usual density per person and entity).
    """
    if connectors is None:
        from citydata.settings import Settings

        connectors = load_connectors(Settings().connectors_dir)
    rates = rates or DefectRates()
    schemas = _schemas(connectors)
    r, rng = random.Random(seed), np.random.default_rng(seed)
    _pools, addr, P, H, couples, D, E = _build_city(persons, seed, rates, r, rng, entities)
    log = DefectLog()
    dead0 = P.index[(P["death_phase"] == "initial") & P["resident"]].tolist()
    still = set(r.sample(dead0, round(rates.deceased_still_active * len(dead0))))
    log.stat("deceased_still_active", len(still), len(dead0))
    log.stat("legal_rep_not_in_household", int((~E["legal_rep_resident"]).sum()),
             int((E["phase"] == "initial").sum()))
    taxpayers = registries.taxpayers(E, r, rng)
    scale = 1.0 if credit_records is None else registries.credit_scale(
        credit_records, len(registries.adults(P)), int((E["phase"] == "initial").sum()),
        int((E["phase"] == "live").sum()), len(taxpayers))
    built = {
        ("public_security", "persons"): departments.hukou_persons(P, still, r, rng),
        ("public_security", "households"): departments.households(H, P),
        ("civil_affairs", "marriages"): departments.marriages(couples, D, P),
        ("civil_affairs", "deaths"): departments.deaths(P, r),
        ("health", "births"): departments.births(P, r),
        ("hrss", "enrolments"): departments.enrolments(P, E, r, rng),
        ("market_regulation", "enterprises"): registries.enterprises(E, P),
        ("tax", "taxpayers"): taxpayers,
        ("court", "dishonest_debtors"): registries.debtors(P, E, r, rng, scale),
        ("ndrc", "sanctions"): registries.sanctions(P, E, r, rng, scale),
    }
    tables = {k: v for k, v in built.items() if k in schemas}
    pks = {k: schemas[k].primary_key[0] for k in tables}
    defects.add_duplicates(tables, rates.duplicate_row, rng, log)
    assemble.assign_keys(tables, pks)
    defects.log_duplicates(tables, pks, log)
    ed = defects.Editor(tables, pks, log)
    defects.identifier_defects(ed, rates, rng)
    defects.name_defects(ed, rates, rng, r)
    conflicts.address_conflicts(ed, rates, rng, lambda: addr.home(addr.division()))
    conflicts.address_variants(ed, rates, rng)
    conflicts.missing_fields(ed, rates, rng)
    ed.flush()
    conflicts.derived_defects(tables, pks, P, log)
    assemble.stamp(tables, rng)
    typed = {k: assemble.typed(df, schemas[k]) for k, df in tables.items()}
    live, deleted = build_live(tables, typed, pks, E, r)
    initial = {k: typed[k][(tables[k]["_phase"] == "initial").to_numpy()].reset_index(drop=True) for k in tables}
    for key, table in schemas.items():  # declared tables this generator knows nothing about: empty
        initial.setdefault(key, assemble.typed(pd.DataFrame(columns=list(table.columns)), table))
    ident = truth.identifiers(tables, pks, P, E, deleted)
    defect_log = log.frame()
    E = E.assign(final_status=np.where(E["cancel_ts"] >= 0, "cancelled", E["status"]))
    city = SynthCity(persons, seed, rates, schemas, initial, live, ident, defect_log, P, E)
    extra = {
        "seed": seed, "persons_parameter": persons, "rates": rates.model_dump(),
        "true_persons": len(P), "true_persons_initial": int((P["phase"] == "initial").sum()),
        "true_entities": len(E), "true_entities_initial": int((E["phase"] == "initial").sum()),
        "rows_initial": {f"{c}.{schemas[(c, t)].schema_}.{t}": len(df) for (c, t), df in initial.items()},
        "live_changes": {op: sum(1 for c in live if c.op == op) for op in ("insert", "update", "delete")},
    }
    final = city.final_tables()
    extra["rows_final"] = {f"{c}.{schemas[(c, t)].schema_}.{t}": len(df) for (c, t), df in final.items()}
    extra["credit_records_final"] = sum(len(final[k]) for k in truth.CREDIT_TABLES if k in final) + (
        int(final[TAX]["credit_rating"].notna().sum()) if TAX in final else 0)
    city.expected = truth.expected(ident, final, pks, defect_log, log.stats, extra)
    for k, v in city.expected["defects"].items():
        v["rate"] = getattr(rates, k, None)
    return city


def write_city(city: SynthCity, out_dir: Path) -> None:
    from citydata.synth.export import write_city as _write

    _write(city, Path(out_dir))
