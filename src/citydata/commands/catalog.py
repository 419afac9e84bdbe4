"""``citydata catalog publish``: the local catalog to OpenMetadata (or, dry, to JSON files)."""

from __future__ import annotations

from pathlib import Path

import typer

from citydata.commands.common import console
from citydata.commands.common import settings_from_env as _settings

catalog_app = typer.Typer(help="The catalog: publish it to OpenMetadata.", no_args_is_help=True)


@catalog_app.command("publish")
def publish(
    dry_run: bool = typer.Option(False, "--dry-run", help="Write the requests as numbered JSON files instead of "
                                                          "sending them (the default when "
                                                          "CITYDATA_OPENMETADATA__URL is not set)."),
    out: Path | None = typer.Option(None, help="Where the dry run writes (default: <var>/openmetadata/requests)."),
    catalog_path: Path | None = typer.Option(None, "--catalog", help="Catalog JSON (default: the demo's "
                                                                     "<var>/catalog.json)."),
) -> None:
    """Publish the catalog to OpenMetadata: services, databases, tables, topics, teams, data grades,
    lineage with columns, quality results. Idempotent; a re-run completes an interrupted one."""
    from citydata.catalog import read_catalog
    from citydata.catalog.om_publish import publish_catalog

    settings = _settings()
    catalog = read_catalog(catalog_path or settings.catalog_path)
    summary = publish_catalog(settings, catalog, dry_run=True if dry_run else None, out=out)
    kinds = ", ".join(f"{n} {kind}" for kind, n in summary["kinds"].items())
    if summary["mode"] == "dry-run":
        console.print(f"dry run: {summary['requests']} requests ({kinds}) written to {summary['out']}")
        return
    line = (f"published to {summary['server']}: {summary['sent']} requests sent"
            + (f", {summary['skipped']} already done" if summary["skipped"] else ""))
    if summary["deleted"]:
        line += f"; soft-deleted {len(summary['deleted'])}: {', '.join(summary['deleted'])}"
    console.print(line)
