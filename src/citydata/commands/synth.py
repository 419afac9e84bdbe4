"""``citydata synth``: the synthetic city on its own."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from citydata.commands.common import console


def synth(
    out: Path = typer.Option(Path("var/synth"), help="Output directory."),
    persons: int = typer.Option(2000, help="Number of true persons."),
    seed: int = typer.Option(20261122, help="Random seed."),
    entities: int | None = typer.Option(None, help="Number of true legal entities (default: about persons / 10)."),
    credit_records: int | None = typer.Option(
        None, help="Approximate number of credit records: court listings, NDRC licences, penalties and "
                   "honours, rated taxpayers (default: the usual density)."),
) -> None:
    """Generate the synthetic city (department tables as CSV) with its ground truth."""
    from citydata.synth import generate, write_city

    city = generate(persons, seed, entities=entities, credit_records=credit_records)
    write_city(city, out)
    console.print(f"wrote {sum(len(f) for f in city.initial.values()):,} rows "
                  f"and {len(city.live):,} live changes to {out}")
    console.print_json(json.dumps(city.expected, ensure_ascii=False, default=str))
