"""Splink baseline for person entity resolution: the same records, linked by a Fellegi–Sunter model.

Person records without a valid ID number (``intermediate.int_person_records_unioned``, the rows the
project's matcher in ``int_person_records_resolved`` handles) are linked — link-only — against the
population library (``population.persons``) by Splink 5 on DuckDB, with what both sides say:
name, birth date (from the record, else from the body of its unusable ID number), the ID number's
first 17 characters, gender, address and division. Blocking on birth date, on surname + birth year
and on the whole name (term-frequency adjusted); u estimated by seeded random sampling, m by expectation
maximisation; each record takes its best candidate when its match probability reaches the threshold
(0.5, fixed beforehand: more likely a match than not).

The output has the shape of ``int_person_records_resolved`` (records with a valid ID resolve to
themselves, as there), so :func:`citydata.resolution.evaluate` scores both matchers the same way.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path

import duckdb
import pandas as pd

from citydata.resolution.evaluate import PERSONS, evaluate

RECORDS = "intermediate.int_person_records_unioned"
MATCH_METHOD = "splink"
# EM sessions, each the first of its rules that trains: on the whole name nearly every pair is a match,
# and EM can drive a level's m to 0, which Splink refuses; surname + birth year then stands in.
_EM_RULES = ((("birth_date",),), (("name_key",), ("surname", "year(birth_date)")))
RESOLVED_COLUMNS = ["source_table", "source_column", "source_record_id", "resolved_person_id", "match_method",
                    "resolution_status"]

# What each side says, in the same columns. A Chinese surname is the name's first character (compound
# surnames are rare enough for blocking).
_RECORDS_SQL = f"""
    select person_record_id as unique_id, name_key, substr(name_key, 1, 1) as surname, gender,
           coalesce(birth_date, try_strptime(substr(id_number_body, 7, 8), '%Y%m%d')::date) as birth_date,
           id_number_body as id_body, address, division_code
    from wh.{RECORDS} where not has_valid_id_number
"""
_PERSONS_SQL = f"""
    select person_id as unique_id, replace(name, ' ', '') as name_key, substr(replace(name, ' ', ''), 1, 1) as surname,
           gender, birth_date, substr(person_id, 1, 17) as id_body, address, division_code
    from wh.{PERSONS}
"""


def _settings():
    import splink.comparison_library as cl
    from splink import SettingsCreator, block_on

    return SettingsCreator(
        link_type="link_only",
        comparisons=[
            cl.LevenshteinAtThresholds("name_key", [1, 2]).configure(term_frequency_adjustments=True),
            cl.DateOfBirthComparison("birth_date", input_is_string=False),
            cl.LevenshteinAtThresholds("id_body", [1, 2]),
            cl.ExactMatch("gender"),
            cl.JaroWinklerAtThresholds("address", [0.95, 0.85]),
            cl.ExactMatch("division_code"),
        ],
        blocking_rules_to_generate_predictions=[
            block_on("birth_date"),
            block_on("surname", "year(birth_date)"),
            block_on("name_key"),
        ],
        retain_matching_columns=False,
    )


def splink_candidates(warehouse_path: Path, seed: int = 42, floor: float = 0.01,
                      max_pairs_for_u: float = 5e6) -> tuple[pd.DataFrame, dict[str, list[str]]]:
    """Train a Splink model on a built warehouse and find each record's best population candidate.

    One row per person record of ``int_person_records_unioned``: its source key, ``has_valid_id_number``,
    ``id_number``, and the best candidate (``best_person_id``, ``best_match_probability``) among the
    pairs Splink scores at ``floor`` or above (none: both null); and which EM sessions trained.
    """
    from splink import DuckDBAPI, Linker, block_on

    con = duckdb.connect()
    try:
        con.execute(f"attach '{Path(warehouse_path).resolve()}' as wh (read_only)")
        con.execute(f"create table records as {_RECORDS_SQL}")
        con.execute(f"create table population as {_PERSONS_SQL}")
        db_api = DuckDBAPI(con)
        left = db_api.register("records", dataset_display_name="records")
        right = db_api.register("population", dataset_display_name="population")
        logging.getLogger("splink").setLevel(logging.ERROR)  # Splink narrates every step at INFO
        linker = Linker([left, right], _settings(), log_level=logging.ERROR)
        linker.training.estimate_probability_two_random_records_match(
            [block_on("name_key", "birth_date")], recall=0.8)
        linker.training.estimate_u_using_random_sampling(max_pairs=max_pairs_for_u, seed=seed)
        training: dict[str, list[str]] = {"em_blocking_rules": [], "em_failed": []}
        for rules in _EM_RULES:  # each session trains the m of the comparisons its rule does not use
            for rule in rules:
                try:
                    linker.training.estimate_parameters_using_expectation_maximisation(block_on(*rule))
                except ValueError as exc:  # EM drove a level's m to 0 (nearly every blocked pair a match)
                    training["em_failed"].append(f"{' & '.join(rule)}: {str(exc).splitlines()[0][:80]}")
                    continue
                training["em_blocking_rules"].append(" & ".join(rule))
                break
        con.register("pairs", linker.inference.predict(threshold_match_probability=floor).as_duckdbpyrelation())
        candidates = con.execute(f"""
            with oriented as (
                select case when source_dataset_l = 'records' then unique_id_l else unique_id_r end as record_id,
                       case when source_dataset_l = 'records' then unique_id_r else unique_id_l end as person_id,
                       match_probability
                from pairs
            ),
            best as (
                select record_id, arg_max(person_id, match_probability) as best_person_id,
                       max(match_probability) as best_match_probability
                from oriented group by record_id
            )
            select u.source_table, u.source_column, u.source_record_id, u.has_valid_id_number, u.id_number,
                   best.best_person_id, best.best_match_probability
            from wh.{RECORDS} u left join best on u.person_record_id = best.record_id
        """).df()
        return candidates, training
    finally:
        con.close()


def resolve_at(candidates: pd.DataFrame, threshold: float) -> pd.DataFrame:
    """Resolutions in the shape of ``int_person_records_resolved`` (``RESOLVED_COLUMNS``): a record with a
    valid ID is itself; another takes its best candidate when the match probability reaches ``threshold``."""
    keyed = candidates["has_valid_id_number"].astype(bool)
    matched = ~keyed & (candidates["best_match_probability"].fillna(-1.0) >= threshold)
    out = candidates[["source_table", "source_column", "source_record_id"]].copy()
    out["resolved_person_id"] = candidates["id_number"].where(keyed, candidates["best_person_id"].where(matched))
    out["match_method"] = pd.Series(None, index=out.index, dtype=object)
    out.loc[keyed, "match_method"] = "valid_id"
    out.loc[matched, "match_method"] = MATCH_METHOD
    out["resolution_status"] = "below_threshold"
    out.loc[candidates["best_person_id"].isna(), "resolution_status"] = "no_candidate"
    out.loc[matched, "resolution_status"] = "matched"
    out.loc[keyed, "resolution_status"] = "valid_id"
    return out[RESOLVED_COLUMNS]


def evaluate_splink(warehouse_path: Path, truth: pd.DataFrame | Path, seed: int = 42, threshold: float = 0.5,
                    sensitivity: tuple[float, ...] = (0.1, 0.2, 0.5, 0.8, 0.9, 0.99)) -> dict:
    """Train and run Splink on a built warehouse and score it like the project's matcher.

    ``threshold`` is fixed beforehand (0.5: the best candidate is more likely a match than not); the
    ``f1_by_threshold`` sweep looks at the truth, so it shows how much tuning could gain, not a result.
    ``seconds`` is Splink's training and linking, reading the warehouse included.
    """
    import splink

    if not isinstance(truth, pd.DataFrame):
        truth = pd.read_parquet(truth)
    started = time.perf_counter()
    candidates, training = splink_candidates(warehouse_path, seed=seed, floor=min(threshold, *sensitivity))
    seconds = time.perf_counter() - started
    con = duckdb.connect(str(warehouse_path), read_only=True)
    try:
        person_ids = {row[0] for row in con.execute(f"select person_id from {PERSONS}").fetchall()}
    finally:
        con.close()
    sweep = {str(t): evaluate(resolve_at(candidates, t), truth, person_ids)["without_valid_id"]["f1"]
             for t in sensitivity}
    return {**evaluate(resolve_at(candidates, threshold), truth, person_ids), "seconds": round(seconds, 3),
            "splink_version": splink.__version__, "seed": seed, "threshold_match_probability": threshold,
            "f1_by_threshold": sweep, **training}
