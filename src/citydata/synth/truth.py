"""Ground truth: who is behind every identifier cell, whether the cell is a valid identifier,
and the counts a correct pipeline must reproduce (``expected.json``).

A person cell is *valid* when, after normalisation (strip, upper-case 'x', 15-digit numbers
upgraded to 18), ``stdnum.cn.ric.is_valid`` holds; an entity cell when ``stdnum.cn.uscc.is_valid``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from citydata.synth import ids
from citydata.synth.departments import IDENTIFIERS

Key = tuple[str, str]
TRUTH_COLUMNS = ["connector", "table", "pk", "role", "subject_type", "true_key", "true_code",
                 "recorded", "valid", "phase", "deleted"]
POPULATION_ROLES = {
    ("public_security", "persons", "id_number"), ("public_security", "households", "head_id_number"),
    ("civil_affairs", "marriages", "husband_id_number"), ("civil_affairs", "marriages", "wife_id_number"),
    ("civil_affairs", "deaths", "id_number"), ("hrss", "enrolments", "id_number"),
    ("health", "births", "child_id_number"), ("health", "births", "mother_id_number"),
    ("health", "births", "father_id_number"),
}
LEGAL_ROLES = {("market_regulation", "enterprises", "uscc"), ("tax", "taxpayers", "uscc")}
CREDIT_TABLES = {("court", "dishonest_debtors"), ("ndrc", "sanctions")}
NOTES = {
    "population_persons": "distinct true persons with >=1 valid ID number (normalised: strip, upper-case x, "
                          "15->18 digits) in public_security persons/households head, civil_affairs marriages "
                          "(both spouses)/deaths, hrss enrolments, health births (child, mother, father); final "
                          "state = initial rows + live changes. Equals distinct valid normalised ID numbers.",
    "legal_entities": "distinct true entities with >=1 valid USCC in market_regulation enterprises or tax "
                      "taxpayers (final state). Equals distinct valid USCCs there.",
    "credit_subjects": "distinct (subject_type, true subject) with a valid code in court dishonest_debtors or "
                       "ndrc sanctions (any status, not deleted), or a taxpayer row with a valid USCC and a "
                       "non-null credit_rating (final state).",
    "deceased_still_active": "true persons with a civil_affairs death row whose public_security persons row "
                             "(any of them) has status 'active' in the final state.",
    "deceased_still_active_detectable": "the same, counting only pairs where both the death row and the "
                                        "active hukou row carry a valid ID number (what matching on "
                                        "normalised ID numbers can find).",
    "defects": "per defect_type: injected (chosen by the rate), eligible (the denominator), logged (rows in "
               "truth/defects.parquet, incl. duplicates' and live rows), rate (configured).",
}


def identifiers(tables: dict[Key, pd.DataFrame], pks: dict[Key, str], P: pd.DataFrame,
                E: pd.DataFrame, deleted: set[tuple[str, str, int]]) -> pd.DataFrame:
    """One row per (connector, table, pk, identifier column) of every generated source row."""
    parts = []
    for key, specs in IDENTIFIERS.items():
        if key not in tables:
            continue
        df = tables[key]
        pk = df[pks[key]].to_numpy().astype(np.int64)
        gone = np.array([(key[0], key[1], int(p)) in deleted for p in pk], dtype=bool)
        for col, _, _ in specs:
            kind = df[f"_t_{col}"].to_numpy().astype(object)
            k = df[f"_k_{col}"].to_numpy().astype(np.int64)
            person = kind == "person"
            true_code = np.where(person, P["id_number"].to_numpy()[np.where(person, k, 0)],
                                 E["uscc"].to_numpy()[np.where(person, 0, k)])
            parts.append(pd.DataFrame({
                "connector": key[0], "table": key[1], "pk": pk, "role": col, "subject_type": kind,
                "true_key": k, "true_code": true_code,
                "recorded": df[col].astype(object).where(df[col].notna(), None).to_numpy(),
                "phase": df["_phase"].to_numpy(), "deleted": gone,
            }))
    out = pd.concat(parts, ignore_index=True)
    valid = np.zeros(len(out), dtype=bool)
    for kind in ("person", "entity"):
        m = (out["subject_type"] == kind).to_numpy()
        valid[m] = ids.valid_cached(out.loc[m, "recorded"].tolist(), person=kind == "person")
    out["valid"] = valid
    return out[TRUTH_COLUMNS]


def _role_mask(truth: pd.DataFrame, roles: set[tuple[str, str, str]]) -> np.ndarray:
    m = np.zeros(len(truth), dtype=bool)
    for c, t, role in roles:
        m |= ((truth["connector"] == c) & (truth["table"] == t) & (truth["role"] == role)).to_numpy()
    return m


def population_persons(truth: pd.DataFrame) -> int:
    m = _role_mask(truth, POPULATION_ROLES) & truth["valid"].to_numpy() & ~truth["deleted"].to_numpy()
    m &= (truth["subject_type"] == "person").to_numpy()
    return int(truth.loc[m, "true_key"].nunique())


def expected(truth: pd.DataFrame, final: dict[Key, pd.DataFrame], pks: dict[Key, str],
             log: pd.DataFrame, stats: dict[str, dict[str, int]], extra: dict) -> dict:
    alive = truth[truth["valid"] & ~truth["deleted"]]
    legal = alive[_role_mask(alive, LEGAL_ROLES)]
    credit = alive[_role_mask(alive, {(c, t, "subject_code") for c, t in CREDIT_TABLES})]
    subjects = set(zip(credit["subject_type"], credit["true_key"]))
    tax = ("tax", "taxpayers")
    if tax in final:
        rated = set(final[tax].loc[final[tax]["credit_rating"].notna(), pks[tax]].astype(int))
        t = legal[(legal["table"] == "taxpayers") & legal["pk"].isin(rated)]
        subjects |= set(zip(t["subject_type"], t["true_key"]))
    dead = truth[(truth["table"] == "deaths") & (truth["role"] == "id_number") & ~truth["deleted"]]
    hukou = ("public_security", "persons")
    active_pks = set(final[hukou].loc[final[hukou]["status"] == "active", pks[hukou]].astype(int))
    hk = truth[(truth["table"] == "persons") & (truth["connector"] == "public_security")
               & truth["pk"].isin(active_pks)]
    still = set(dead["true_key"]) & set(hk["true_key"])
    detectable = set(dead.loc[dead["valid"], "true_key"]) & set(hk.loc[hk["valid"], "true_key"])
    counts = log["defect_type"].value_counts().sort_index()
    defects = {k: {**stats.get(k, {}), "logged": int(counts.get(k, 0))} for k in sorted(set(stats) | set(counts.index))}
    return {
        **extra,
        "population_persons": population_persons(truth),
        "legal_entities": int(legal["true_key"].nunique()),
        "credit_subjects": len(subjects),
        "deceased_still_active": len(still),
        "deceased_still_active_detectable": len(detectable),
        "defect_counts": {k: v["logged"] for k, v in defects.items()},
        "defects": defects,
        "notes": NOTES,
    }
