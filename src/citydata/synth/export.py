"""Writing a generated city to a directory: source CSVs, live changes, ground truth, manifest."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import TYPE_CHECKING

from citydata.synth.loader import to_csv

if TYPE_CHECKING:
    from citydata.synth.core import SynthCity

TRUE_PERSON_COLUMNS = ["pid", "id_number", "name", "gender", "birth_date", "ethnicity", "household_id",
                       "address", "division_code", "resident", "phase", "spouse", "father", "mother",
                       "died_on", "death_phase", "employer", "employed_on"]
TRUE_ENTITY_COLUMNS = ["eid", "uscc", "name", "entity_type", "industry", "registered_capital", "status",
                       "final_status", "established_on", "address", "division_code", "legal_rep",
                       "legal_rep_resident", "phase"]


def _json_default(v: object) -> str:
    if isinstance(v, (dt.date, dt.datetime)):
        return v.isoformat()
    raise TypeError(f"not JSON serialisable: {type(v).__name__}")


def write_city(city: SynthCity, out: Path) -> None:
    """``sources/<connector>.<schema>.<table>.csv`` (initial rows, UTF-8), ``live_changes.jsonl``,
    ``truth/*.parquet``, ``expected.json`` and ``manifest.json``."""
    (out / "sources").mkdir(parents=True, exist_ok=True)
    (out / "truth").mkdir(parents=True, exist_ok=True)
    files = []
    for (connector, table), df in city.initial.items():
        schema = city.schemas[(connector, table)].schema_
        name = f"sources/{connector}.{schema}.{table}.csv"
        (out / name).write_text(to_csv(df, header=True), encoding="utf-8")
        files.append({"path": name, "rows": len(df), "connector": connector, "schema": schema,
                      "table": table, "primary_key": city.schemas[(connector, table)].primary_key})
    with (out / "live_changes.jsonl").open("w", encoding="utf-8") as fh:
        for c in city.live:
            fh.write(json.dumps({"connector": c.connector, "table": c.table, "op": c.op, "key": c.key,
                                 "values": c.values, "ts": c.ts}, ensure_ascii=False,
                                default=_json_default) + "\n")
    city.truth.to_parquet(out / "truth" / "identifiers.parquet", index=False)
    city.defects.to_parquet(out / "truth" / "defects.parquet", index=False)
    city.true_persons[TRUE_PERSON_COLUMNS].to_parquet(out / "truth" / "persons.parquet", index=False)
    city.true_entities[TRUE_ENTITY_COLUMNS].to_parquet(out / "truth" / "entities.parquet", index=False)
    (out / "expected.json").write_text(
        json.dumps(city.expected, ensure_ascii=False, indent=2, sort_keys=True, default=_json_default) + "\n",
        encoding="utf-8")
    manifest = {
        "generator": "citydata.synth",
        "persons": city.persons, "seed": city.seed, "rates": city.rates.model_dump(),
        "sources": files,
        "live_changes": {"path": "live_changes.jsonl", "count": len(city.live),
                         "note": "ordered; op insert/update/delete; key = primary key; ts = seconds after "
                                 "2026-01-01T00:00:00Z"},
        "truth": {
            "truth/identifiers.parquet": "one row per (connector, table, pk, role) identifier cell: the true "
                                         "person/entity behind it, recorded value, valid flag, phase, deleted",
            "truth/defects.parquet": "one row per injected defect: connector, table, pk, column, defect_type, "
                                     "detail, phase",
            "truth/persons.parquet": "the true persons (pid = true_key of person cells)",
            "truth/entities.parquet": "the true entities (eid = true_key of entity cells)",
        },
        "expected": "expected.json",
    }
    (out / "manifest.json").write_text(json.dumps(manifest, ensure_ascii=False, indent=2) + "\n",
                                       encoding="utf-8")
