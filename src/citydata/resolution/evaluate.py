"""Precision, recall and F1 of person and legal-entity resolution against the synthetic ground truth.

The warehouse's ``intermediate.int_person_records_resolved`` says, per population-source person
record, which person (valid ID number) it is about; the truth table (``SynthCity.truth`` or
``truth/identifiers.parquet`` from ``write_city``) says who is really behind each identifier cell
(``true_code``: the person's real ID number). A resolution is *correct* when it names the true
person, *wrong* when it names another. Recall counts against every record whose true person is in
the population library (the others cannot be resolved, only queued).

Entities the same way: ``intermediate.int_entity_occurrences_resolved`` names, per USCC occurrence
(or USCC-less tax row), the legal entity (``resolved_uscc``); truth's entity rows carry the true
USCC; an occurrence is resolvable when its true entity is in ``legal_entity.legal_entities``.

The Splink baseline on the same records, scored by :func:`evaluate`, is in ``splink_baseline``.
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import pandas as pd

RESOLVED = "intermediate.int_person_records_resolved"
PERSONS = "population.persons"
QUEUE = "governance.unresolved_person_records"
ENTITY_RESOLVED = "intermediate.int_entity_occurrences_resolved"
ENTITIES = "legal_entity.legal_entities"
ENTITY_QUEUE = "governance.unresolved_entity_occurrences"
KEYS = ["source_table", "source_column", "source_record_id"]


def _metrics(frame: pd.DataFrame, column: str = "resolved_person_id") -> dict[str, float | int]:
    resolved = frame[column].notna()
    correct = resolved & (frame[column] == frame["true_code"])
    wrong = resolved & ~correct
    resolvable = frame["is_resolvable"]
    tp, fp = int(correct.sum()), int(wrong.sum())
    precision = tp / (tp + fp) if tp + fp else 1.0
    recall = tp / int(resolvable.sum()) if resolvable.any() else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"records": len(frame), "resolvable": int(resolvable.sum()), "resolved": int(resolved.sum()),
            "correct": tp, "wrong": fp, "unresolved": int((~resolved).sum()),
            "missed_resolvable": int((resolvable & ~resolved).sum()),
            "precision": round(precision, 4), "recall": round(recall, 4), "f1": round(f1, 4)}


def evaluate(resolved: pd.DataFrame, truth: pd.DataFrame, person_ids: set[str]) -> dict:
    """Score resolutions against truth.

    ``resolved``: rows of int_person_records_resolved (source_table, source_column,
    source_record_id, resolved_person_id, match_method, resolution_status); ``truth``: the synthetic
    identifier truth; ``person_ids``: the population library's person_id values.
    """
    joined, unmatched = _with_truth(resolved, truth, "person", person_ids)
    keyed = joined["match_method"] == "valid_id"
    by_status = joined.loc[~keyed, "resolution_status"].value_counts().sort_index()
    return {
        "without_valid_id": _metrics(joined[~keyed]),
        "overall": _metrics(joined),
        "unresolved_by_status": {str(k): int(v) for k, v in by_status.items()},
        "records_without_truth": unmatched,
    }


def _with_truth(resolved: pd.DataFrame, truth: pd.DataFrame, subject_type: str,
                library: set[str]) -> tuple[pd.DataFrame, int]:
    """``resolved`` with each record's ``true_code`` and ``is_resolvable`` (true subject in the
    library); also how many records truth does not know."""
    t = truth[truth["subject_type"] == subject_type].copy()
    if "deleted" in t:
        t = t[~t["deleted"].astype(bool)]
    t["source_table"] = t["connector"] + "__" + t["table"]
    t["source_record_id"] = t["pk"].astype("int64").astype(str)
    t = t.rename(columns={"role": "source_column"})
    t = t.drop_duplicates(KEYS, keep="last")
    joined = resolved.merge(t[[*KEYS, "true_code"]], on=KEYS, how="left")
    unmatched = int(joined["true_code"].isna().sum())
    joined = joined[joined["true_code"].notna()].copy()
    joined["is_resolvable"] = joined["true_code"].isin(library)
    return joined, unmatched


def evaluate_entities(resolved: pd.DataFrame, truth: pd.DataFrame, entity_ids: set[str]) -> dict:
    """Score entity resolutions against truth.

    ``resolved``: rows of int_entity_occurrences_resolved (source_table, source_column,
    source_record_id, resolved_uscc, match_method); ``entity_ids``: the library's legal_entity_id values.
    """
    joined, unmatched = _with_truth(resolved, truth, "entity", entity_ids)
    keyed = joined["match_method"] == "valid_uscc"
    by_method = joined.loc[~keyed, "match_method"].value_counts().sort_index()
    return {
        "without_valid_uscc": _metrics(joined[~keyed], "resolved_uscc"),
        "overall": _metrics(joined, "resolved_uscc"),
        "fallback_by_method": {str(k): int(v) for k, v in by_method.items()},
        "records_without_truth": unmatched,
    }


def evaluate_warehouse(warehouse_path: Path, truth: pd.DataFrame | Path) -> dict:
    """Evaluate a built DuckDB warehouse against a truth frame or a truth parquet file."""
    if not isinstance(truth, pd.DataFrame):
        truth = pd.read_parquet(truth)
    con = duckdb.connect(str(warehouse_path), read_only=True)
    try:
        resolved = con.execute(
            f"select source_table, source_column, source_record_id, resolved_person_id, match_method, "
            f"resolution_status from {RESOLVED}").df()
        person_ids = {row[0] for row in con.execute(f"select person_id from {PERSONS}").fetchall()}
        queue = con.execute(f"select count(*) from {QUEUE}").fetchall()[0][0]
        occurrences = con.execute(
            f"select source_table, source_column, source_record_id, resolved_uscc, match_method "
            f"from {ENTITY_RESOLVED}").df()
        entity_ids = {row[0] for row in con.execute(f"select legal_entity_id from {ENTITIES}").fetchall()}
        entity_queue = con.execute(f"select count(*) from {ENTITY_QUEUE}").fetchall()[0][0]
    finally:
        con.close()
    result = evaluate(resolved, truth, person_ids)
    result["queue_rows"] = int(queue)
    result["entities"] = {**evaluate_entities(occurrences, truth, entity_ids), "queue_rows": int(entity_queue)}
    return result


def report(result: dict) -> str:
    """A few lines for a terminal."""
    lines = [_line(label, result[scope]) for scope, label in (
        ("without_valid_id", "person records without a valid ID"), ("overall", "all person records"))]
    statuses = ", ".join(f"{k} {v}" for k, v in result["unresolved_by_status"].items())
    lines.append(f"person records without a valid ID by status: {statuses}")
    if "queue_rows" in result:
        lines.append(f"governance.unresolved_person_records: {result['queue_rows']} rows")
    if "entities" in result:
        e = result["entities"]
        lines += [_line("entity occurrences without a valid USCC", e["without_valid_uscc"]),
                  _line("all entity occurrences", e["overall"])]
        methods = ", ".join(f"{k} {v}" for k, v in e["fallback_by_method"].items())
        lines.append(f"entity occurrences without a valid USCC by method: {methods}")
        lines.append(f"governance.unresolved_entity_occurrences: {e['queue_rows']} rows")
    return "\n".join(lines)


def _line(label: str, m: dict) -> str:
    return (f"{label}: {m['records']} records, {m['resolvable']} resolvable; resolved {m['resolved']} "
            f"(correct {m['correct']}, wrong {m['wrong']}), unresolved {m['unresolved']}; "
            f"precision {m['precision']:.3f} recall {m['recall']:.3f} F1 {m['f1']:.3f}")


def evaluate_synthetic(persons: int, seed: int, work_dir: Path, project_dir: Path | None = None,
                       vars: dict | None = None) -> dict:
    """Generate a synthetic city, load its final state into a fresh DuckDB warehouse under
    ``work_dir``, build the dbt project, and evaluate resolution against the city's truth."""
    from citydata.ingest.config import load_connectors
    from citydata.settings import PROJECT_ROOT
    from citydata.synth import generate
    from citydata.warehouse.dbt_build import build
    from citydata.warehouse.direct import load_frames

    city = generate(persons, seed)
    work_dir.mkdir(parents=True, exist_ok=True)
    path = work_dir / "warehouse.duckdb"
    path.unlink(missing_ok=True)
    con = duckdb.connect(str(path))
    try:
        load_frames(con, load_connectors(PROJECT_ROOT / "connectors"), city.final_tables())
    finally:
        con.close()
    build(project_dir or PROJECT_ROOT / "dbt_project", path, vars=vars)
    return {"persons": persons, "seed": seed, **evaluate_warehouse(path, city.truth)}
