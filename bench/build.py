"""Build benchmark: the base libraries' full and incremental ``dbt build``, and entity resolution vs Splink.

In one run, on a synthetic city loaded straight into a fresh DuckDB (``warehouse.direct``, no Kafka):
- the full ``dbt build`` (seeds, models, data and unit tests) — seconds, models vs tests, the ten slowest
  nodes — against the target of 120 s on 2 cores;
- a 1% change: CDC-shaped events (later source positions and load times) for 1% of the persons,
  enterprises and credit records — address moves, name corrections, status changes, a few deletes and
  new registrations — appended to the raw change logs, then the same ``dbt build`` again, against 15 s;
- person entity resolution on (a copy of) the fully built warehouse, after the incremental build: the project's matcher
  (``int_person_records_resolved``) and Splink (``resolution.splink_baseline``) on the same records,
  F1 against the synthetic truth, Splink's seconds.

    python -m bench.build [--persons 1000000 --entities 200000 --credit-records 2000000] [--small]
"""

from __future__ import annotations

import argparse
import datetime as dt
import inspect
import json
import os
import platform
import random
import shutil
import sys
import tempfile
import time
from pathlib import Path

import duckdb

from citydata.ingest.config import load_connectors
from citydata.resolution import evaluate_splink, evaluate_warehouse
from citydata.settings import PROJECT_ROOT
from citydata.synth import generate
from citydata.synth.ids import make_ric
from citydata.warehouse.dbt_build import DbtBuildResult, build
from citydata.warehouse.direct import load_frames
from citydata.warehouse.raw import RawEvent, append_events, current_view_name, table_name

RESULTS = Path(__file__).parent / "results"
FULL = {"persons": 1_000_000, "entities": 200_000, "credit_records": 2_000_000}
SMALL = {"persons": 20_000, "entities": 4_000, "credit_records": 40_000}
TARGETS = {"full_seconds": 120, "incremental_seconds": 15}
CHANGE_SHARE = 0.01
_RUN_TYPES = {"model", "seed", "snapshot"}


def generate_city(persons: int, entities: int | None, credit_records: int | None, seed: int):
    """The synthetic city, passing ``entities`` / ``credit_records`` only where ``generate`` takes them.

    Returns (city, the keyword arguments honoured)."""
    accepted = inspect.signature(generate).parameters
    extra = {k: v for k, v in (("entities", entities), ("credit_records", credit_records))
             if v is not None and k in accepted}
    return generate(persons, seed, **extra), sorted(extra)


def copy_project(work_dir: Path) -> Path:
    """The dbt project copied under ``work_dir``, so this run's ``target/`` is its own."""
    dest = work_dir / "dbt_project"
    shutil.copytree(PROJECT_ROOT / "dbt_project", dest,
                    ignore=shutil.ignore_patterns("target", "logs", "dbt_packages", ".user.yml"))
    return dest


def build_summary(result: DbtBuildResult, wall_s: float) -> dict:
    """Seconds, models vs tests (summed node seconds; dbt runs threads, so they exceed the wall time),
    the load average when it ended (other work on the machine slows it), and the ten slowest nodes."""
    run_s = sum(n.seconds for n in result.nodes if n.resource_type in _RUN_TYPES)
    test_s = sum(n.seconds for n in result.nodes if n.resource_type not in _RUN_TYPES)
    slowest = sorted(result.nodes, key=lambda n: n.seconds, reverse=True)[:10]
    return {"seconds": round(wall_s, 3), "dbt_seconds": result.seconds, "counts": result.counts,
            "load_average_after": [round(x, 2) for x in os.getloadavg()],
            "node_seconds_models": round(run_s, 3), "node_seconds_tests": round(test_s, 3),
            "slowest_nodes": [{"name": n.name, "type": n.resource_type, "seconds": n.seconds} for n in slowest]}


def timed_build(project: Path, warehouse: Path) -> tuple[DbtBuildResult, dict]:
    """One ``dbt build``, timed after the kernel has written out what came before (loading, copying a
    multi-GB warehouse): left to write back during the build, it added up to ±3 s to it."""
    os.sync()
    started = time.perf_counter()
    result = build(project, warehouse)
    return result, build_summary(result, time.perf_counter() - started)


# --- the 1% change ------------------------------------------------------------------------------

def _sample(con: duckdb.DuckDBPyConnection, connector: str, table: str, n: int, salt: str) -> list[dict]:
    """``n`` current rows of a raw table, picked by a hash of the key (deterministic), as text dicts."""
    view = current_view_name(connector, table)
    cur = con.execute(f'select * exclude (_op, _source_pos, _source_ts_ms, _loaded_at) from raw."{view}" '
                      f"order by hash(_key || '{salt}') limit {int(n)}")
    names = [d[0] for d in cur.description]
    return [dict(zip(names, row)) for row in cur.fetchall()]


def _person_changes(rows: list[dict], donors: list[dict], r: random.Random, next_no: int,
                    taken: set[str]) -> list[tuple[str, dict]]:
    """Moves, name corrections and registration changes; one in twenty deleted; as many new residents
    registered (a new valid ID number, the rest copied from a neighbour's row)."""
    out: list[tuple[str, dict]] = []
    for row, donor in zip(rows, donors):
        kind = r.random()
        if kind < 0.05:
            out.append(("d", row))
            continue
        row = dict(row)
        if kind < 0.55:
            row["address"], row["division_code"] = donor["address"], donor["division_code"]
        elif kind < 0.8 and row.get("name"):
            row["name"] = row["name"][:-1] + (donor.get("name") or row["name"])[-1:]
        else:
            row["status"] = r.choice(["moved_out", "cancelled", "active"])
        out.append(("u", row))
    for donor in rows[: max(1, len(rows) // 20)]:
        area = (donor.get("division_code") or "120101")[:6]
        birth = dt.date(r.randint(1950, 2005), r.randint(1, 12), r.randint(1, 28))
        new_id = make_ric(area, birth, r.randint(0, 999))
        if new_id in taken:
            continue
        taken.add(new_id)
        row = {**donor, "person_no": str(next_no), "id_number": new_id, "birth_date": birth.isoformat(),
               "status": "active", "_key": json.dumps({"person_no": next_no}, separators=(",", ":"))}
        next_no += 1
        out.append(("c", row))
    return out


def _status_changes(rows: list[dict], column: str, values: list[str], r: random.Random,
                    delete_share: float = 0.0) -> list[tuple[str, dict]]:
    out: list[tuple[str, dict]] = []
    for row in rows:
        if r.random() < delete_share:
            out.append(("d", row))
        else:
            out.append(("u", {**row, column: r.choice(values)}))
    return out


def _moves(rows: list[dict], donors: list[dict]) -> list[tuple[str, dict]]:
    return [("u", {**row, "address": d["address"], "division_code": d["division_code"]})
            for row, d in zip(rows, donors)]


def change_events(con: duckdb.DuckDBPyConnection, seed: int, share: float = CHANGE_SHARE) -> dict[tuple[str, str], list]:
    """(connector, table) → [(op, row)] for ``share`` of the persons, enterprises and credit records."""
    r = random.Random(seed)

    def count(connector: str, table: str) -> int:
        n = con.execute(f'select count(*) from raw."{current_view_name(connector, table)}"').fetchone()[0]
        return max(1, round(n * share))

    n_p = count("public_security", "persons")
    persons = _sample(con, "public_security", "persons", n_p, "p")
    next_no = con.execute("select max(cast(person_no as bigint)) + 1 from raw.public_security__persons").fetchone()[0]
    taken = {row[0] for row in con.execute("select id_number from raw.public_security__persons__current "
                                           "where id_number is not null").fetchall()}
    n_e = count("market_regulation", "enterprises")
    enterprises = _sample(con, "market_regulation", "enterprises", n_e, "e")
    changes = {
        ("public_security", "persons"): _person_changes(
            persons, _sample(con, "public_security", "persons", n_p, "donor"), r, next_no, taken),
        ("market_regulation", "enterprises"): _moves(enterprises[: n_e // 2],
                                                     _sample(con, "market_regulation", "enterprises", n_e, "donor"))
        + _status_changes(enterprises[n_e // 2:], "status", ["cancelled", "revoked"], r),
        ("court", "dishonest_debtors"): _status_changes(
            _sample(con, "court", "dishonest_debtors", count("court", "dishonest_debtors"), "c"),
            "status", ["removed"], r),
        ("ndrc", "sanctions"): _status_changes(
            _sample(con, "ndrc", "sanctions", count("ndrc", "sanctions"), "s"),
            "publicity_until", ["2027-12-31"], r, delete_share=0.05),
    }
    return changes


def append_changes(con: duckdb.DuckDBPyConnection, connectors, changes: dict, per_tx: int = 50) -> dict[str, int]:
    """Append the changes as CDC events after everything stored: later source positions, load time now,
    ``per_tx`` changes per source transaction; a delete carries only the key in ``before`` (pgoutput's
    default replica identity). Returns events appended per raw table."""
    now = dt.datetime.now(dt.UTC)
    now_ms = int(now.timestamp() * 1000)
    by_name = {c.name: c for c in connectors}
    appended: dict[str, int] = {}
    for (connector, table), ops in changes.items():
        cfg = by_name[connector]
        tcfg = cfg.table(table)
        pk = tcfg.primary_key
        name = table_name(connector, table)
        seq0, offset0 = con.execute(f'select max(_source_seq), max(_offset) from raw."{name}"').fetchone()
        events = []
        for i, (op, row) in enumerate(ops):
            key = row.pop("_key")
            values = {k: v for k, v in row.items() if not k.startswith("_")}
            before = {k: values[k] for k in pk} if op == "d" else None
            after = None if op == "d" else values
            events.append(RawEvent(cfg.topic(tcfg), 0, offset0 + 1 + i, key, op, seq0 + 1 + i // per_tx, i,
                                   f"bench:{seq0 + 1 + i // per_tx}", i // per_tx, False, now_ms, now_ms, now,
                                   before, after))
        appended[name] = append_events(con, connector, table, events)
    return appended


# --- the run ------------------------------------------------------------------------------------

def _say(stage: str, started: float) -> None:
    print(f"[bench.build {time.perf_counter() - started:7.1f} s] {stage}", file=sys.stderr, flush=True)


def machine() -> dict:
    return {"python": platform.python_version(), "cpus": os.cpu_count(), "niceness": os.nice(0),
            "memory_gb": round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1),
            "load_average_at_start": [round(x, 2) for x in os.getloadavg()]}


def run(persons: int, entities: int | None, credit_records: int | None, seed: int, work_dir: Path,
        splink: bool = True) -> dict:
    """The whole benchmark in ``work_dir``; returns the results (not written)."""
    result: dict = {"benchmark": "build", "recorded_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "machine": machine(),
                    "requested": {"persons": persons, "entities": entities, "credit_records": credit_records},
                    "seed": seed}
    connectors = load_connectors(PROJECT_ROOT / "connectors")
    t0 = started = time.perf_counter()
    city, honoured = generate_city(persons, entities, credit_records, seed)
    _say("generated", t0)
    result["generate_seconds"] = round(time.perf_counter() - started, 3)
    result["honoured"] = ["persons", *honoured]
    frames = city.final_tables()
    result["source_rows"] = {f"{c}.{t}": len(df) for (c, t), df in frames.items()}
    result["true_entities"] = len(city.true_entities)
    result["credit_rows"] = sum(len(frames[k]) for k in frames if k[0] in {"court", "ndrc", "tax"})
    project, warehouse = copy_project(work_dir), work_dir / "warehouse.duckdb"
    con = duckdb.connect(str(warehouse))
    try:
        started = time.perf_counter()
        load_frames(con, connectors, frames)
        result["load_seconds"] = round(time.perf_counter() - started, 3)
    finally:
        con.close()
    del frames
    _say("loaded; full build", t0)
    full, result["full_build"] = timed_build(project, warehouse)
    # Entity resolution is scored on this copy after the incremental build: Splink's run (minutes, many
    # GB) in between would leave the incremental build a cold page cache no production run has.
    resolved = work_dir / "resolved.duckdb"
    shutil.copy(warehouse, resolved)
    con = duckdb.connect(str(warehouse))
    try:
        changes = change_events(con, seed)
        result["incremental_change"] = {
            "share": CHANGE_SHARE,
            "events": append_changes(con, connectors, changes),
            "by_op": {op: sum(1 for ops in changes.values() for o, _ in ops if o == op) for op in ("c", "u", "d")}}
    finally:
        con.close()
    _say("1% change appended; incremental build", t0)
    _, result["incremental_build"] = timed_build(project, warehouse)
    _say("built; entity resolution on the full build", t0)
    ours = evaluate_warehouse(resolved, city.truth)
    matcher_s = next((n.seconds for n in full.nodes if n.name == "int_person_records_resolved"), None)
    result["entity_resolution"] = {"ours": {**ours["without_valid_id"], "model_seconds": matcher_s}}
    if splink:
        theirs = evaluate_splink(resolved, city.truth, seed=seed)
        result["entity_resolution"]["splink"] = {
            **theirs["without_valid_id"], "seconds": theirs["seconds"], "version": theirs["splink_version"],
            "threshold_match_probability": theirs["threshold_match_probability"],
            "f1_by_threshold": theirs["f1_by_threshold"]}
    _say("done", t0)
    er = result["entity_resolution"]
    result["ratios"] = {
        "full_vs_target": round(result["full_build"]["seconds"] / TARGETS["full_seconds"], 3),
        "incremental_vs_target": round(result["incremental_build"]["seconds"] / TARGETS["incremental_seconds"], 3),
        "incremental_vs_full": round(result["incremental_build"]["seconds"] / result["full_build"]["seconds"], 3),
    }
    if "splink" in er:
        er["f1_ours_vs_splink"] = round(er["ours"]["f1"] / er["splink"]["f1"], 4) if er["splink"]["f1"] else None
        result["ratios"]["f1_ours_vs_splink"] = er["f1_ours_vs_splink"]
    result["targets"] = {**TARGETS, "min_f1_ours_vs_splink": 1.0}
    return result


def cli(name: str, description: str, run_at_scale, argv: list[str] | None = None) -> dict:
    """The command line both benches share: scale, seed, results file ``results/<name>[-small].json``,
    work directory. ``run_at_scale(persons, entities, credit_records, seed, work_dir)`` returns the results."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--persons", type=int)
    parser.add_argument("--entities", type=int)
    parser.add_argument("--credit-records", type=int)
    parser.add_argument("--small", action="store_true", help=f"{SMALL} → results/{name}-small.json")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--out", type=Path, help=f"results file (default results/{name}.json or {name}-small.json)")
    parser.add_argument("--work-dir", type=Path, help="where the warehouse goes (default: a temporary directory)")
    args = parser.parse_args(argv)
    scale = SMALL if args.small else FULL
    out = args.out or RESULTS / (f"{name}-small.json" if args.small else f"{name}.json")
    if args.work_dir:
        args.work_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=args.work_dir) as tmp:
        result = run_at_scale(args.persons or scale["persons"], args.entities or scale["entities"],
                              args.credit_records or scale["credit_records"], args.seed, Path(tmp))
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n")
    print(json.dumps(result, indent=2, ensure_ascii=False))
    return result


def main(argv: list[str] | None = None) -> dict:
    return cli("build", __doc__.splitlines()[0], run, argv)

if __name__ == "__main__":
    main()
