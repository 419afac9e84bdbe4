"""The ``citydata`` command line: thin commands over the services; errors print one line."""

from __future__ import annotations

import json
import logging
import signal
import sys
import warnings
from pathlib import Path

import typer
from rich.console import Console
from typer import _click as click

from citydata.errors import CityDataError

app = typer.Typer(help="citydata — a city data bureau's platform on one machine.", no_args_is_help=True,
                  pretty_exceptions_enable=False, add_completion=False)
console = Console()
err_console = Console(stderr=True)


def _settings(**overrides):
    from pydantic import ValidationError

    from citydata.settings import Settings

    try:
        settings = Settings()
    except ValidationError as exc:
        e = exc.errors()[0]
        raise CityDataError(f"setting CITYDATA_{'__'.join(str(p).upper() for p in e['loc'])}: {e['msg']}") from None
    for key, value in overrides.items():
        if value is not None:
            section, _, field = key.partition("__")
            setattr(getattr(settings, section), field, value) if field else setattr(settings, key, value)
    return settings


def _quiet_libraries() -> None:
    for name in ("kafka", "great_expectations", "dbt", "urllib3", "py.warnings"):
        logging.getLogger(name).setLevel(logging.CRITICAL)
    warnings.filterwarnings("ignore")


@app.command()
def demo(
    persons: int | None = typer.Option(None, help="Synthetic persons (default from CITYDATA_SYNTH__PERSONS)."),
    seed: int | None = typer.Option(None, help="Random seed for the synthetic city."),
    serve: bool = typer.Option(True, "--serve/--no-serve", help="Serve the portal after the run."),
    port: int | None = typer.Option(None, help="Portal port (default 8000)."),
) -> None:
    """Run the whole city pipeline on embedded services, write the report, then serve the portal."""
    from citydata.demo.run import check_report, run_demo

    settings = _settings(synth__persons=persons, synth__seed=seed, portal__port=port)
    if serve:
        from citydata.services.ports import port_busy
        if port_busy(settings.portal.port, settings.portal.host):
            raise CityDataError(f"portal port {settings.portal.port} is busy: pass --port N or use --no-serve")
    report = run_demo(settings, console)
    check_report(report)
    console.print(f"report: {settings.report_path}")
    console.print("base libraries: " + ", ".join(f"{t} {n:,}" for t, n in report["base_libraries"].items()))
    console.print(f"gate: {'passed' if report['gate']['passed'] else 'BLOCKED'}")
    if serve:
        _serve(settings)


def _serve(settings) -> None:
    from citydata.portal import serve

    url = f"http://{settings.portal.host}:{settings.portal.port}"
    console.print(f"portal: {url}  (Ctrl-C to stop)")
    serve(settings.catalog_path, settings.portal.host, settings.portal.port)


@app.command()
def portal(port: int | None = typer.Option(None, help="Port (default 8000).")) -> None:
    """Serve the portal over the catalog of the last run."""
    settings = _settings(portal__port=port)
    if not settings.catalog_path.exists():
        raise CityDataError(f"no catalog at {settings.catalog_path}: run `make demo` first")
    _serve(settings)


@app.command()
def synth(
    out: Path = typer.Option(Path("var/synth"), help="Output directory."),
    persons: int = typer.Option(2000, help="Number of true persons."),
    seed: int = typer.Option(20261122, help="Random seed."),
) -> None:
    """Generate the synthetic city (department tables as CSV) with its ground truth."""
    from citydata.synth import generate, write_city

    city = generate(persons, seed)
    write_city(city, out)
    console.print(f"wrote {sum(len(f) for f in city.initial.values()):,} rows "
                  f"and {len(city.live):,} live changes to {out}")
    console.print_json(json.dumps(city.expected, ensure_ascii=False, default=str))


@app.command()
def resolution(
    warehouse: Path | None = typer.Option(None, help="A built DuckDB warehouse; omit to generate and build a "
                                                     "synthetic city."),
    truth: Path | None = typer.Option(None, help="Truth parquet (write_city's truth/identifiers.parquet)."),
    persons: int = typer.Option(1500, help="Synthetic persons (without --warehouse)."),
    seed: int = typer.Option(20261122, help="Synthetic seed (without --warehouse)."),
    work_dir: Path = typer.Option(Path("var/resolution"), help="Where the synthetic warehouse is built."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON instead of a report."),
) -> None:
    """Precision, recall and F1 of person entity resolution against the synthetic ground truth."""
    from citydata.resolution import evaluate_synthetic, evaluate_warehouse, report

    if warehouse is not None:
        if truth is None:
            raise CityDataError("--warehouse needs --truth: the truth/identifiers.parquet written with the city")
        result = evaluate_warehouse(warehouse, truth)
    else:
        result = evaluate_synthetic(persons, seed, work_dir)
    if as_json:
        console.print_json(json.dumps(result, default=str))
    else:
        console.print(report(result))


@app.command()
def gate(
    layer: list[str] = typer.Option(["raw", "marts"], help="Layers to validate."),
    out: Path | None = typer.Option(None, help="Write JSON results here."),
) -> None:
    """Validate the warehouse with the committed suites. Exit 0 on pass, 1 on a blocking failure."""
    from rich.table import Table

    from citydata.quality.gate import run_gate
    from citydata.quality.suites import load_suites
    from citydata.warehouse import duck

    settings = _settings()
    if not settings.warehouse_path.exists():
        raise CityDataError(f"no warehouse at {settings.warehouse_path}: run `make demo` first")
    con = duck.connect(settings.warehouse_path, read_only=True)
    result = run_gate(con, load_suites(settings.expectations_dir), layers=tuple(layer))
    con.close()
    table = Table(title="quality gate")
    for col in ("table", "expectation", "column", "severity", "result", "unexpected"):
        table.add_column(col)
    for t in result.tables:
        for e in t.expectations:
            table.add_row(t.table, e.expectation, e.column or "", e.severity,
                          "[green]pass[/]" if e.success else "[red]FAIL[/]", str(e.unexpected_count))
    console.print(table)
    path = out or settings.gate_path
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(result.to_dict(), ensure_ascii=False, indent=2), encoding="utf-8")
    raise typer.Exit(0 if result.passed else 1)


@app.command("connectors")
def connectors_cmd(name: str | None = typer.Argument(None, help="One connector or department code.")) -> None:
    """Validate and list the connector definitions (or one connector's tables)."""
    from citydata.ingest.config import find_connector, load_connectors

    connectors = load_connectors(_settings().connectors_dir)
    if name is None:
        for c in connectors:
            console.print(f"{c.name:<20} {c.department.name_zh:<16} " + ", ".join(c.topic(t) for t in c.tables))
        return
    c = find_connector(connectors, name)
    where = f"database {c.connection.database}" if c.connection else f"folder {c.files.directory}"
    console.print(f"{c.name}: {c.department.name_zh} ({c.department.name_en}), {c.type} {where}")
    for t in c.tables:
        console.print(f"  {c.topic(t)}  key {', '.join(t.primary_key)}  columns {', '.join(t.columns)}")


def _write_crash_log() -> Path:
    import tempfile
    import traceback

    fd, path = tempfile.mkstemp(prefix="citydata-crash-", suffix=".log")
    with open(fd, "w", encoding="utf-8") as f:
        f.write(traceback.format_exc())
    return Path(path)


def _terminate(signum, frame) -> None:
    """SIGTERM takes the same path as Ctrl-C, so every service this run started is stopped."""
    raise KeyboardInterrupt


@app.command()
def probe(
    connector: str = typer.Argument(..., help="Connector name or department code."),
    synthetic: bool = typer.Option(False, help="Probe the synthetic city in an embedded PostgreSQL instead."),
    out: Path | None = typer.Option(None, help="Write the probe as JSON here."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON instead of a table."),
) -> None:
    """数据探查: tables, keys, row counts, null rates and sample formats of a source."""
    from contextlib import ExitStack

    from citydata.ingest.config import find_connector, load_connectors
    from citydata.ingest.probe import probe as run_probe
    from citydata.services.stack import mysql_source_server, source_server

    settings = _settings()
    connectors = load_connectors(settings.connectors_dir)
    cfg = find_connector(connectors, connector)
    with ExitStack() as stack:
        if synthetic:
            from citydata.services.postgres import EmbeddedPostgres
            from citydata.synth import generate, load_initial

            server = stack.enter_context(EmbeddedPostgres())
            load_initial(generate(settings.synth.persons, settings.synth.seed), server, connectors)
        elif cfg.type == "mysql":
            server = mysql_source_server(cfg)
        else:
            server = source_server(cfg, settings)
        tables = run_probe(cfg, server)
    payload = json.dumps({"connector": cfg.name, "tables": tables}, ensure_ascii=False, indent=2)
    if out:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(payload, encoding="utf-8")
    if as_json:
        console.print_json(payload)
        return
    _print_probe(cfg.name, tables)


def _print_probe(name: str, tables: list[dict]) -> None:
    from rich.table import Table

    for t in tables:
        title = (f"{name} · {t['schema']}.{t['table']} · {t['rows']:,} rows · key {', '.join(t['primary_key']) or '—'}"
                 f" · replica identity {t['replica_identity']}")
        table = Table(title=title)
        for col in ("column", "type", "null rate", "distinct (sample)", "formats", "example"):
            table.add_column(col)
        for c in t["columns"]:
            formats = ", ".join(f"{k} {v:.0%}" for k, v in list(c["formats"].items())[:3])
            table.add_row(c["name"] + ("" if c["declared"] else " (undeclared)"), c["type"], f"{c['null_rate']:.1%}",
                          str(c["distinct_in_sample"]), formats, (c["example"] or "")[:24])
        console.print(table)
        for problem in t["problems"]:
            console.print(f"[yellow]problem:[/] {problem}")


connect_app = typer.Typer(help="The connectors and landing sink as a long-running service.", no_args_is_help=True)
dlq_app = typer.Typer(help="Dead letters: list and replay.", no_args_is_help=True)
app.add_typer(connect_app, name="connect")
app.add_typer(dlq_app, name="dlq")


@connect_app.command("run")
def connect_run(
    synthetic: bool = typer.Option(False, help="Run on an embedded PostgreSQL loaded with the synthetic city, "
                                              "with a trickle of live changes."),
    metrics_port: int | None = typer.Option(None, help="Health/metrics port (default 9108; 0 = any free port)."),
) -> None:
    """Run every connector and the landing sink until SIGTERM or Ctrl-C; /health and /metrics on a port."""
    import threading

    from citydata.ingest.config import load_connectors
    from citydata.ingest.service import ConnectService
    from citydata.services.stack import running_services, service_registry

    settings = _settings()
    connectors = load_connectors(settings.connectors_dir)
    with running_services(settings) as services, service_registry(settings, services):
        if synthetic:
            import shutil

            from citydata.synth import apply_live, generate, load_initial

            shutil.rmtree(settings.state_dir / "offsets", ignore_errors=True)  # brand-new sources
            city = generate(settings.synth.persons, settings.synth.seed)
            load_initial(city, services.postgres, [c for c in connectors if c.type == "postgres"])
            threading.Thread(target=apply_live, args=(city, services.postgres,
                                                      [c for c in connectors if c.type == "postgres"]),
                             kwargs={"batch_size": 10, "pause_s": 0.2}, daemon=True).start()
        service = ConnectService(settings, connectors, services.postgres, services.kafka_bootstrap)
        service.start(metrics_port)
        console.print(f"connect: {len(connectors)} connectors → {services.kafka_bootstrap} → "
                      f"{settings.warehouse_path}; health and metrics on "
                      f"http://{settings.ingest.metrics_host}:{service.metrics.port}/metrics  (Ctrl-C to stop)")
        try:
            while not service.stop_event.wait(1.0):
                pass
        finally:
            service.stop()


@dlq_app.command("list")
def dlq_list(topic: list[str] = typer.Option(None, help="Dead-letter topics (default: all *.dlq).")) -> None:
    """List dead letters with their reason and origin."""
    from rich.table import Table

    from citydata.ingest.dead_letters import list_dead_letters
    from citydata.services.stack import running_bootstrap

    letters = list_dead_letters(running_bootstrap(_settings()), topic or None)
    table = Table(title=f"{len(letters)} dead letter(s)")
    for col in ("dlq topic", "offset", "origin", "reason", "value"):
        table.add_column(col)
    for d in letters:
        table.add_row(d.dlq_topic, str(d.offset), d.origin, d.reason, d.value_preview[:40])
    console.print(table)


@dlq_app.command("replay")
def dlq_replay(topic: str = typer.Argument(..., help="The dead-letter topic, e.g. hrss.social_insurance.enrolments.dlq")) -> None:
    """Send dead letters back to their origin topic (after a fix); each is replayed once."""
    from citydata.ingest.dead_letters import replay
    from citydata.services.stack import running_bootstrap

    n = replay(running_bootstrap(_settings()), topic)
    console.print(f"replayed {n} dead letter(s) from {topic}")


def main() -> None:
    _quiet_libraries()
    signal.signal(signal.SIGTERM, _terminate)
    try:
        code = app(standalone_mode=False)
    except click.exceptions.ClickException as exc:  # usage errors: click's own one-line message
        exc.show()
        sys.exit(exc.exit_code)
    except typer.Abort:
        code = 130
    except CityDataError as exc:
        err_console.print(f"[red]error:[/] {exc}", highlight=False, soft_wrap=True)
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        err_console.print("interrupted: every service this run started has been stopped")
        sys.exit(130)
    except Exception as exc:  # a bug, not bad input: one line for the user, the traceback to a file
        log = _write_crash_log()
        err_console.print(f"[red]internal error:[/] {type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"
                          f" — traceback in {log}; please report it", highlight=False, soft_wrap=True)
        sys.exit(1)
    if code == 130:  # typer turns Ctrl-C into exit code 130 once the with-blocks have unwound
        err_console.print("interrupted: every service this run started has been stopped")
    sys.exit(code if isinstance(code, int) else 0)


if __name__ == "__main__":
    main()
