"""The main job: synthetic city → department PostgreSQL → CDC → Kafka → warehouse raw (DuckDB, or the
PostgreSQL warehouse Settings name) → dbt base libraries → Great Expectations gate → publish → catalog → report (→ portal)."""

from __future__ import annotations

import datetime as dt
import json
import shutil

from rich.console import Console

from citydata.catalog import publish_catalog
from citydata.demo.live import stream_while
from citydata.demo.stages import StageLog
from citydata.errors import CityDataError
from citydata.ingest.config import load_connectors
from citydata.ingest.offsets import OffsetStore
from citydata.ingest.postgres_cdc import PostgresCDC
from citydata.ingest.producer import EventProducer, ensure_topics
from citydata.ingest.sink import LandingSink
from citydata.publishing import build_libraries, gate_and_publish, snapshot_catalog
from citydata.quality.suites import load_suites
from citydata.quality.tables import scorecard_table
from citydata.services.stack import running_services
from citydata.settings import Settings
from citydata.synth import apply_live, generate, load_initial, write_city
from citydata.warehouse.engine import describe, open_warehouse

BASE_LIBRARIES = ("population", "legal_entity", "credit")


def _reset(settings: Settings) -> None:
    """Each demo run starts with fresh connector offsets (its embedded sources are new) and an empty
    warehouse — except the ``published`` schema: the last good version serves until a new one passes."""
    settings.var_dir.mkdir(parents=True, exist_ok=True)
    shutil.rmtree(settings.state_dir, ignore_errors=True)
    if settings.warehouse.engine == "duckdb" and not settings.warehouse_path.exists():
        return
    with open_warehouse(settings) as warehouse:
        schemas = [r[0] for r in warehouse.rows(
            "select distinct schema_name from information_schema.schemata where catalog_name = current_database() "
            "and schema_name not in ('published', 'main', 'public', 'information_schema') "
            "and left(schema_name, 3) <> 'pg_'")]
        for schema in schemas:
            warehouse.execute(f'drop schema if exists "{schema}" cascade')


def source_row_counts(server, connectors) -> dict[str, int]:
    """Rows per source table now: what the raw current-state views must equal once landed."""
    counts: dict[str, int] = {}
    for c in connectors:
        conn = server.connect(c.connection.database)
        try:
            with conn.cursor() as cur:
                for t in c.tables:
                    cur.execute(f'select count(*) from "{t.schema_}"."{t.name}"')
                    counts[c.topic(t)] = cur.fetchone()[0]
        finally:
            conn.close()
    return counts


def run_demo(settings: Settings, console: Console) -> dict:
    connectors = load_connectors(settings.connectors_dir)
    suites = load_suites(settings.expectations_dir)
    _reset(settings)
    log = StageLog(console)
    report: dict = {"started_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
                    "persons": settings.synth.persons, "seed": settings.synth.seed}
    with log.live():
        _ingest(settings, connectors, log, report)
        _build_and_publish(settings, connectors, suites, log, report)
    console.print(log.summary())
    console.print(scorecard_table(report["scorecards"]))
    gate = report["gate_result"]
    if not gate.passed:
        for table, exp in gate.failures():
            console.print(f"[red]gate blocked:[/] {exp.expectation} on {table}"
                          f"{f'.{exp.column}' if exp.column else ''}: {exp.unexpected_count} row(s)")
    del report["gate_result"]
    settings.report_path.write_text(json.dumps(report, ensure_ascii=False, indent=2, default=str),
                                    encoding="utf-8")
    return report


def _ingest(settings: Settings, connectors, log: StageLog, report: dict) -> None:
    with running_services(settings) as services:
        report["services"] = services.embedded
        with log.stage("synthesise city") as st:
            city = generate(settings.synth.persons, settings.synth.seed)
            write_city(city, settings.synth_dir)
            st.set_rows(sum(len(f) for f in city.initial.values()))
        with log.stage("load department DBs") as st:
            st.set_rows(sum(load_initial(city, services.postgres, connectors).values()))
        topics = [c.topic(t) for c in connectors for t in c.tables]
        ensure_topics(services.kafka_bootstrap, topics + [f"{t}.dlq" for t in topics],
                      settings.kafka.partitions)
        offsets = OffsetStore(settings.state_dir / "offsets")
        producer = EventProducer(services.kafka_bootstrap)
        cdcs = [PostgresCDC(c, services.postgres, producer, offsets) for c in connectors]
        with log.stage("CDC snapshot → Kafka") as st:
            for cdc in cdcs:
                st.advance(cdc.snapshot())
        warehouse = open_warehouse(settings)
        sink = LandingSink(services.kafka_bootstrap, warehouse.con, connectors)
        with log.stage("land raw (initial)") as st:
            sink.drain(on_batch=st.advance)
        with log.stage("live changes → CDC") as st:
            st.set_total(len(city.live))
            applied, landed = stream_while(
                lambda: apply_live(city, services.postgres, connectors, progress=st.set_rows),
                services.postgres, cdcs, sink, on_landed=lambda n: None)
            st.note(f"{applied} changes applied, {landed} events landed")
        sink.close()
        producer.close()
        report["source_rows_final"] = source_row_counts(services.postgres, connectors)
        report["ingest"] = {"snapshot_rows": sum(c.stats.snapshot_rows for c in cdcs),
                            "stream_events": sum(c.stats.stream_events for c in cdcs),
                            "landed": sink.stats.landed, "duplicates": sink.stats.duplicates,
                            "tombstones": sink.stats.tombstones, "dead_letters": sink.stats.dead_letters}
        warehouse.close()
    report["expected"] = city.expected


def _build_and_publish(settings: Settings, connectors, suites, log: StageLog, report: dict) -> None:
    with log.stage("dbt build") as st:
        result = build_libraries(settings)
        st.set_rows(len(result.nodes))
        st.note(", ".join(f"{n} {status}" for status, n in sorted(result.counts.items())) + " dbt nodes")
    with log.stage("gate (GE) + publish") as st:
        outcome = gate_and_publish(settings, suites, run_at=report["started_at"])
        gate, published, counts = outcome.gate, outcome.published, outcome.counts
        st.set_rows(sum(len(t.expectations) for t in gate.tables))
        if gate.passed:
            st.note(f"passed; published {len(published)} tables")
        else:
            st.record.status = "blocked"
            st.note(f"BLOCKED by {len(gate.failures())} failure(s); last good version kept")
    with log.stage("catalog snapshot") as st:
        catalog = snapshot_catalog(settings, connectors, result.manifest_path, gate.to_dict(), counts)
        st.set_rows(len(catalog.get("tables", [])) + len(catalog.get("topics", [])))
    with log.stage("catalog → OpenMetadata") as st:
        openmetadata = publish_catalog(settings, catalog)
        st.set_rows(openmetadata["requests"])
        st.note(f"{openmetadata['mode']}: " + (openmetadata.get("out") or openmetadata.get("server", "")))
    with log.stage("portal accounts") as st:
        users = prepare_portal(settings)
        st.set_rows(len(users))
        st.note(f"demo sign-ins: {', '.join(users)} (password: Settings.portal.demo_password)")
    with log.stage("audit log verified") as st:
        circulation = check_audit_log(settings)
        st.set_rows(circulation["audit_entries"])
        if not circulation["audit_ok"]:
            st.record.status = "failed"
        st.note(circulation["summary"])
    report.update({
        "finished_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "stages": log.to_list(),
        "base_libraries": {t: n for t, n in counts.items() if t.split(".")[0] in BASE_LIBRARIES},
        "governance": {t: n for t, n in counts.items() if t.startswith("governance.")},
        "history": {t: n for t, n in counts.items() if t.startswith("history.")},
        "gate": gate.to_dict(),
        "published": published,
        "scorecards": outcome.scorecards,
        "openmetadata": openmetadata,
        "quarantined": outcome.quarantined,
        "circulation": {k: v for k, v in circulation.items() if k != "summary"},
        "outputs": {"warehouse": describe(settings), "catalog": str(settings.catalog_path),
                    "gate": str(settings.gate_path), "data_docs": str(outcome.data_docs),
                    "synth": str(settings.synth_dir)},
    })
    report["gate_result"] = gate


def prepare_portal(settings: Settings) -> list[str]:
    """The demo's portal accounts and its stand-in pseudonym secret (production: real accounts via
    `citydata portal-user add`, the secret from CITYDATA_CIRCULATION__MASTER_SECRET)."""
    from citydata.portal.access import write_demo_secret
    from citydata.portal.accounts import AccountStore, seed_demo_users

    write_demo_secret(settings)
    with AccountStore(settings.accounts_path) as store:
        users = seed_demo_users(store, settings.portal.demo_password.get_secret_value(), dt.datetime.now(dt.UTC))
    return [u.id for u in users]


def check_audit_log(settings: Settings) -> dict:
    """The audit log's proofs and signatures (as `citydata audit verify`), what this run appended, and
    the k-anonymity checks of open microdata — the circulation part of the run report."""
    from citydata.circulation.audit_verify import verify_log
    from citydata.circulation.context import open_audit_log

    with open_audit_log(settings) as log:
        report = verify_log(log)
        actions: dict[str, int] = {}
        for entry in log.entries():
            actions[entry["action"]] = actions.get(entry["action"], 0) + 1
        kanon = {e["dataset"]: e["detail"]["kanon"] for e in log.entries("publish") if "kanon" in e["detail"]}
    summary = (f"{report.entries} entries, {report.checkpoints} checkpoints: "
               + ("verified" if report.ok else f"NOT VERIFIED: {report.problems[0]}"))
    return {"audit_ok": report.ok, "audit_entries": report.entries, "audit_problems": report.problems[:5],
            "audit_actions": actions, "k_anonymity": kanon, "summary": summary}


def check_report(report: dict) -> None:
    """A demo that produced no base library is a failed demo, whatever else happened."""
    empty = [t for t, n in report["base_libraries"].items() if n == 0]
    if not report["base_libraries"] or empty:
        raise CityDataError(f"base libraries empty: {empty or 'none built'}: see {report['outputs']['warehouse']}")
