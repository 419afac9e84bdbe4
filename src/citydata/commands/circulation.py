"""``citydata audit …``, ``citydata trace-leak``, ``citydata classify``: trusted circulation."""

from __future__ import annotations

import json
from pathlib import Path

import typer
from rich.table import Table

from citydata.commands.common import console
from citydata.commands.common import settings_from_env as _settings
from citydata.errors import CityDataError

audit_app = typer.Typer(help="The tamper-evident audit log: verify, prove, meter.", no_args_is_help=True)


@audit_app.command("verify")
def audit_verify(
    checkpoint: list[Path] = typer.Option([], "--checkpoint", help="A checkpoint kept outside the log "
                                                                   "(JSON, as returned with a receipt); repeatable."),
) -> None:
    """Check every signature, consistency between all checkpoints and the inclusion of every entry."""
    from citydata.circulation.audit_verify import verify_log
    from citydata.circulation.checkpoints import Checkpoint
    from citydata.circulation.context import open_audit_log

    kept = []
    for path in checkpoint:
        try:
            kept.append(Checkpoint.from_json(path.read_text(encoding="utf-8"), str(path)))
        except OSError as exc:
            raise CityDataError(f"cannot read checkpoint {path}: {exc.strerror}") from None
    with open_audit_log(_settings()) as log:
        report = verify_log(log, kept=kept)
    if not report.ok:
        for problem in report.problems:
            console.print(f"[red]tampered:[/] {problem}", highlight=False, soft_wrap=True)
        raise CityDataError(f"audit log {log.path} failed verification ({len(report.problems)} problems)")
    console.print(f"audit log verified: {report.entries} entries, {report.checkpoints} signed checkpoints, "
                  f"{report.inclusion_proofs} inclusion and {report.consistency_proofs} consistency proofs", soft_wrap=True)


@audit_app.command("prove")
def audit_prove(seq: int = typer.Argument(..., help="The entry's sequence number.")) -> None:
    """Print an entry with its inclusion proof against the newest signed checkpoint (JSON)."""
    from citydata.circulation.audit_verify import inclusion_proof
    from citydata.circulation.context import open_audit_log

    with open_audit_log(_settings()) as log:
        console.print_json(json.dumps(inclusion_proof(log, seq), ensure_ascii=False))


@audit_app.command("meter")
def audit_meter() -> None:
    """Requests, rows and downloads per consumer, from the audit log."""
    from citydata.circulation.context import open_audit_log
    from citydata.circulation.metering import metering

    with open_audit_log(_settings()) as log:
        report = metering(log.entries())
    table = Table("consumer", "requests", "rows", "downloads", "datasets")
    for consumer, m in report.items():
        table.add_row(consumer, *(str(m[k]) for k in ("requests", "rows", "downloads", "datasets")))
    console.print(table)


def trace_leak(file: Path = typer.Argument(..., help="The leaked CSV (whole, sampled or cut down).")) -> None:
    """Name the recipient of a leaked extract from its canary records and pseudonyms."""
    import pandas as pd

    from citydata.circulation.context import master_secret, open_audit_log
    from citydata.circulation.watermark import trace_leak as trace

    settings = _settings()
    try:
        leaked = pd.read_csv(file, dtype=str, keep_default_na=False)
    except (OSError, ValueError) as exc:
        raise CityDataError(f"cannot read {file} as CSV: {str(exc).splitlines()[0]}") from None
    with open_audit_log(settings) as log:
        found = trace(leaked, log, master_secret(settings))
    if found.recipient:
        console.print(f"{file}: issued to [bold]{found.recipient}[/] (domain {found.domain or '?'}; "
                      f"canary cells {found.canary_hits.get(found.recipient, 0)}, "
                      f"domain pseudonyms {sum(found.domain_hits.values())})", soft_wrap=True)
    elif found.domain:
        console.print(f"{file}: from domain {found.domain}, recipients {', '.join(found.candidates)} — no canary "
                      "record in it to tell them apart", soft_wrap=True)
    else:
        raise CityDataError(f"{file}: no canary record or pseudonym of any issued extract found")


def classify(
    persons: int = typer.Option(2000, help="Synthetic city size."),
    seed: int = typer.Option(20261122, help="Synthetic city seed."),
    all_columns: bool = typer.Option(False, "--all", help="List unclassified columns too."),
) -> None:
    """Classify and grade every column of the synthetic city; precision and recall against the
    connectors' classification hints."""
    from citydata.circulation.detection_eval import evaluate
    from citydata.circulation.grading import load_grading
    from citydata.synth import generate

    settings = _settings()
    policy = load_grading(settings.circulation.policies_dir)
    result = evaluate(generate(persons, seed))
    table = Table("table", "column", "detected", "grade", "PI", "share", "declared", "")
    for c in result.columns:
        d = c.detection
        if not (all_columns or d.classification or c.truth):
            continue
        cls = policy.classes.get(d.classification or "")
        table.add_row(c.table, d.column, d.classification or "", policy.grade_of(d.classification),
                      cls.personal if cls else "", f"{d.share:.2f}", c.truth or "",
                      "[green]✓[/]" if c.correct else "[red]✗[/]")
    console.print(table)
    console.print(f"precision {result.precision:.3f} ({result.true_positives}/{result.predicted}), "
                  f"recall {result.recall:.3f} ({result.true_positives}/{result.actual}) "
                  f"over {len(result.columns)} columns")
