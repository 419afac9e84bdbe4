"""``citydata connect run`` and ``citydata dlq``: ingestion as a service, and its dead letters."""

from __future__ import annotations

import typer

from citydata.commands.common import console
from citydata.commands.common import settings_from_env as _settings

connect_app = typer.Typer(help="The connectors and landing sink as a long-running service.", no_args_is_help=True)
dlq_app = typer.Typer(help="Dead letters: list and replay.", no_args_is_help=True)


@connect_app.command("run")
def connect_run(
    synthetic: bool = typer.Option(False, help="Run on an embedded PostgreSQL loaded with the synthetic city, "
                                              "with a trickle of live changes."),
    metrics_port: int | None = typer.Option(None, help="Health/metrics port (default 9108; 0 = any free port)."),
    land: bool = typer.Option(True, help="Also land the topics into the warehouse; --no-land when another "
                                         "process (the Airflow landing DAG) owns the warehouse."),
) -> None:
    """Run every connector and the landing sink until SIGTERM or Ctrl-C; /health and /metrics on a port."""
    import threading

    from citydata.ingest.config import load_connectors
    from citydata.ingest.service import ConnectService
    from citydata.services.stack import running_services, service_registry
    from citydata.warehouse.engine import describe

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
        service = ConnectService(settings, connectors, services.postgres, services.kafka_bootstrap, land=land)
        service.start(metrics_port)
        console.print(f"connect: {len(connectors)} connectors → {services.kafka_bootstrap}"
                      f"{f' → {describe(settings)}' if land else ' (landing left to another process)'}; "
                      "health and metrics on "
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
