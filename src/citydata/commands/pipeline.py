"""``citydata demo`` and ``citydata portal``: the main job and the portal over its catalog."""

from __future__ import annotations

import typer

from citydata.commands.common import console
from citydata.commands.common import settings_from_env as _settings
from citydata.errors import CityDataError


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
    serve(settings)


def portal(port: int | None = typer.Option(None, help="Port (default 8000)."),
           workers: int | None = typer.Option(None, help="Worker processes (default 1; one per core).")) -> None:
    """Serve the portal over the catalog of the last run."""
    settings = _settings(portal__port=port, portal__workers=workers)
    if not settings.catalog_path.exists():
        raise CityDataError(f"no catalog at {settings.catalog_path}: run `make demo` first")
    _serve(settings)
