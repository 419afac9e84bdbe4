"""``citydata access …``: apply for, decide on, revoke and list grants on conditional datasets."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

import typer
from rich.table import Table

from citydata.commands.common import console
from citydata.commands.common import settings_from_env as _settings

access_app = typer.Typer(help="Access requests and grants (ODRL-style usage policies in policies/usage.yaml).",
                         no_args_is_help=True)


@contextmanager
def _store() -> Iterator:
    from citydata.circulation.context import open_audit_log, open_grants

    settings = _settings()
    with open_audit_log(settings) as log, open_grants(settings, log) as store:
        yield store


def _now() -> datetime:
    return datetime.now(UTC)


@access_app.command("request")
def request(
    dataset: str = typer.Argument(..., help="<schema>.<table>, as listed in policies/usage.yaml."),
    consumer: str = typer.Option(..., help="Who applies."),
    purpose: str = typer.Option(..., help="One of the dataset's purposes in policies/usage.yaml."),
    role: str = typer.Option("registered_consumer", help="The consumer's role (policies/masking.yaml)."),
    domain: str = typer.Option(None, help="The consumer domain whose pseudonyms it receives."),
    rows: int = typer.Option(..., help="Most rows the grant will release in all."),
    downloads: int = typer.Option(0, help="Most downloads (watermarked extracts)."),
    days: int = typer.Option(30, help="How long the grant lasts from approval."),
) -> None:
    """Apply for access to a conditional dataset with a purpose; a steward of its owner decides."""
    from citydata.circulation.grants import Actor

    with _store() as store:
        req = store.request(Actor(consumer, role, domain=domain), dataset, purpose, rows=rows, downloads=downloads,
                            days=days, now=_now())
        owner = store.usage.dataset(dataset).owner
    console.print(f"access request {req.id}: {consumer} → {dataset} for {purpose}; pending a steward of {owner}",
                  soft_wrap=True)


@access_app.command("approve")
def approve(request_id: int = typer.Argument(..., help="The request's number."),
            steward: str = typer.Option(..., help="A steward of the dataset's owning department.")) -> None:
    """Approve a pending request: a grant valid for the requested days from now."""
    with _store() as store:
        grant = store.approve(request_id, steward, now=_now())
    console.print(f"grant {grant.id}: {grant.consumer} may use {grant.dataset} for {grant.purpose} "
                  f"until {grant.not_after}", soft_wrap=True)


@access_app.command("reject")
def reject(request_id: int = typer.Argument(..., help="The request's number."),
           steward: str = typer.Option(..., help="A steward of the dataset's owning department."),
           reason: str = typer.Option(..., help="Why, for the consumer and the audit log.")) -> None:
    """Reject a pending request."""
    with _store() as store:
        store.reject(request_id, steward, reason, now=_now())
    console.print(f"access request {request_id} rejected", soft_wrap=True)


@access_app.command("revoke")
def revoke(grant_id: int = typer.Argument(..., help="The grant's number."),
           steward: str = typer.Option(..., help="A steward of the dataset's owning department."),
           reason: str = typer.Option(..., help="Why, for the consumer and the audit log.")) -> None:
    """Revoke a grant; the next use under it is refused."""
    with _store() as store:
        grant = store.revoke(grant_id, steward, reason, now=_now())
    console.print(f"grant {grant_id} revoked at {grant.revoked_at}", soft_wrap=True)


@access_app.command("list")
def list_(dataset: str = typer.Option(None, help="Only this dataset."),
          consumer: str = typer.Option(None, help="Only this consumer.")) -> None:
    """Requests and grants, with each grant's status and use so far (from the audit log)."""
    now = _now()
    with _store() as store:
        keep = [r for r in store.requests() if dataset in (None, r.dataset) and consumer in (None, r.consumer)]
        grants = {g.id: g for g in store.grants()}
        table = Table("request", "dataset", "consumer", "purpose", "status", "decided by", "grant", "until",
                      "rows used", "downloads used")
        for r in keep:
            g = grants.get(r.grant_id) if r.grant_id else None
            used = store.log.grant_usage(g.id) if g else None
            table.add_row(str(r.id), r.dataset, r.consumer, r.purpose, g.status(now) if g else r.status,
                          r.decided_by or "", str(g.id) if g else "", g.not_after[:19] if g else "",
                          f"{used[0]}/{r.rows}" if used else "", f"{used[1]}/{r.downloads}" if used else "")
    console.print(table)


@access_app.command("policy")
def policy(dataset: str = typer.Argument(..., help="<schema>.<table>")) -> None:
    """A dataset's owner, openness and terms (an ODRL Offer, JSON)."""
    from citydata.circulation.usage import load_usage

    usage = load_usage(_settings().circulation.policies_dir).dataset(dataset)
    console.print_json(json.dumps({"dataset": dataset, "owner": usage.owner, "openness": usage.openness,
                                   "offer": usage.offer(dataset).to_json()}, ensure_ascii=False))
