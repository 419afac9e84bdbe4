"""Access requests and grants (授权): apply with a purpose → the owning department's steward decides →
a time-limited grant (an ODRL Agreement) → every use checked against it → revocation at once.

Requests and grants live in a SQLite file beside the audit log (same reasons as the log: one file,
transactional, many processes). Every step is appended to the audit log before its transaction
commits. How much a grant has been used (rows, downloads) is not kept here: it is summed from the
audit log's use entries (:meth:`AuditLog.grant_usage`), so the count a check relies on is the one
``citydata audit verify`` proves. :meth:`GrantStore.exclusive` holds the store's write lock from the
check until the use is logged, so two processes cannot both spend a grant's last download.
Time is always a parameter (``now``); nothing here reads the clock.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from citydata.circulation.audit_log import AuditLog
from citydata.circulation.odrl import Action, Constraint, Permission, Policy
from citydata.circulation.sqlite_file import SqliteFile
from citydata.circulation.usage import UsagePolicies
from citydata.errors import CityDataError

_SCHEMA = """
create table if not exists requests (
  id integer primary key autoincrement, dataset text not null, consumer text not null, role text not null,
  domain text, purpose text not null, rows integer not null, downloads integer not null, days integer not null,
  requested_at text not null, status text not null default 'pending',
  decided_by text, decided_at text, reason text, grant_id integer);
create table if not exists grants (
  id integer primary key autoincrement, request_id integer not null references requests(id),
  dataset text not null, consumer text not null, role text not null, domain text, purpose text not null,
  granted_by text not null, granted_at text not null, not_after text not null, agreement text not null,
  revoked_by text, revoked_at text, revoke_reason text);
"""


@dataclass(frozen=True)
class Actor:
    """Who asks: an id, a role of ``policies/masking.yaml``, the department they work for (staff,
    stewards) and the consumer domain whose pseudonyms they receive."""

    id: str
    role: str
    department: str | None = None
    domain: str | None = None


@dataclass(frozen=True)
class AccessRequest:
    id: int
    dataset: str
    consumer: str
    role: str
    domain: str | None
    purpose: str
    rows: int
    downloads: int
    days: int
    requested_at: str
    status: str
    decided_by: str | None
    decided_at: str | None
    reason: str | None
    grant_id: int | None


@dataclass(frozen=True)
class Grant:
    id: int
    request_id: int
    dataset: str
    consumer: str
    role: str
    domain: str | None
    purpose: str
    granted_by: str
    granted_at: str
    not_after: str
    agreement: str
    revoked_by: str | None
    revoked_at: str | None
    revoke_reason: str | None

    @property
    def policy(self) -> Policy:
        return Policy.model_validate_json(self.agreement)

    def status(self, now: datetime) -> str:
        if self.revoked_at:
            return "revoked"
        return "expired" if now > datetime.fromisoformat(self.not_after) else "active"


def _at(now: datetime) -> str:
    if now.tzinfo is None:
        raise CityDataError("times must carry a time zone (e.g. 2026-01-05T09:00:00+08:00)")
    return now.isoformat()


def agreement(grant_id: int, request: AccessRequest, assigner: str, not_after: datetime) -> Policy:
    """The grant as an ODRL Agreement: this consumer, role and purpose, until ``not_after``, at most
    the requested rows, and — if any were granted — at most the requested downloads."""
    terms = [Constraint(leftOperand="recipient", operator="eq", rightOperand=request.consumer),
             Constraint(leftOperand="role", operator="eq", rightOperand=request.role),
             Constraint(leftOperand="purpose", operator="eq", rightOperand=request.purpose),
             Constraint(leftOperand="dateTime", operator="lteq", rightOperand=not_after.isoformat()),
             Constraint(leftOperand="rows", operator="lteq", rightOperand=request.rows)]
    permissions = [Permission(action="read", target=request.dataset, assigner=assigner, assignee=request.consumer,
                              constraint=terms)]
    if request.downloads:
        permissions.append(Permission(action="reproduce", target=request.dataset, assigner=assigner,
                                      assignee=request.consumer, constraint=[
                                          *terms, Constraint(leftOperand="count", operator="lteq",
                                                             rightOperand=request.downloads)]))
    return Policy(type="Agreement", uid=f"urn:citydata:grant:{grant_id}", permission=permissions)


class GrantStore(SqliteFile):
    """Requests and grants of one platform, deciding under ``usage`` and logging to ``log``."""

    def __init__(self, path: Path, log: AuditLog, usage: UsagePolicies):
        super().__init__(path, _SCHEMA)
        self._db.row_factory = sqlite3.Row
        self.log = log
        self.usage = usage
        self._locked = False

    @contextmanager
    def exclusive(self) -> Iterator[None]:
        """The store's write lock, held from a check until its use is logged; re-entrant."""
        if self._locked:
            yield
            return
        self._db.execute("begin immediate")
        self._locked = True
        try:
            yield
        except BaseException:
            self._db.execute("rollback")
            raise
        else:
            self._db.execute("commit")
        finally:
            self._locked = False

    # -- reading -------------------------------------------------------------------------------

    def request_of(self, request_id: int) -> AccessRequest:
        row = self._db.execute("select * from requests where id = ?", (request_id,)).fetchone()
        if row is None:
            raise CityDataError(f"access request {request_id} does not exist (see `citydata access list`)")
        return AccessRequest(**dict(row))

    def grant_of(self, grant_id: int) -> Grant:
        row = self._db.execute("select * from grants where id = ?", (grant_id,)).fetchone()
        if row is None:
            raise CityDataError(f"grant {grant_id} does not exist (see `citydata access list`)")
        return Grant(**dict(row))

    def requests(self) -> list[AccessRequest]:
        return [AccessRequest(**dict(r)) for r in self._db.execute("select * from requests order by id")]

    def grants(self) -> list[Grant]:
        return [Grant(**dict(r)) for r in self._db.execute("select * from grants order by id")]

    # -- the workflow --------------------------------------------------------------------------

    def request(self, consumer: Actor, dataset: str, purpose: str, *, rows: int, downloads: int, days: int,
                now: datetime) -> AccessRequest:
        """A consumer applies; refused at once if it asks for more than the dataset's offer."""
        if rows < 1 or days < 1 or downloads < 0:
            raise CityDataError(f"a request needs at least 1 row and 1 day and no negative downloads "
                                f"(got rows {rows}, days {days}, downloads {downloads})")
        usage = self.usage.dataset(dataset)
        if usage.openness != "conditional":
            raise CityDataError(f"{dataset} is {usage.openness}: "
                                + ("no grant is needed" if usage.openness == "open" else "it is not circulated"))
        problems = self._offer_problems(dataset, purpose, consumer.role, rows, downloads, days)
        if problems:
            raise CityDataError(f"request for {dataset} exceeds its usage policy: {'; '.join(problems)}")
        with self.exclusive():
            cur = self._db.execute(
                "insert into requests (dataset, consumer, role, domain, purpose, rows, downloads, days, requested_at)"
                " values (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (dataset, consumer.id, consumer.role, consumer.domain, purpose, rows, downloads, days, _at(now)))
            request_id = int(cur.lastrowid or 0)
            self.log.append("request", consumer.id, consumer=consumer.id, dataset=dataset, at=now,
                            request=request_id, purpose=purpose, role=consumer.role, domain=consumer.domain,
                            rows_requested=rows, downloads=downloads, days=days)
        return self.request_of(request_id)

    def _pending(self, request_id: int, steward: str) -> AccessRequest:
        request = self.request_of(request_id)
        if request.status != "pending":
            raise CityDataError(f"access request {request_id} was already {request.status} by {request.decided_by}")
        self.usage.require_steward(steward, request.dataset, f"decide on {request.dataset}")
        return request

    def approve(self, request_id: int, steward: str, now: datetime) -> Grant:
        """The owning department's steward approves: a grant valid for the requested days from ``now``."""
        with self.exclusive():
            request = self._pending(request_id, steward)
            self._within_offer(request)
            not_after = now + timedelta(days=request.days)
            cur = self._db.execute(
                "insert into grants (request_id, dataset, consumer, role, domain, purpose, granted_by, granted_at,"
                " not_after, agreement) values (?, ?, ?, ?, ?, ?, ?, ?, ?, '')",
                (request.id, request.dataset, request.consumer, request.role, request.domain, request.purpose,
                 steward, _at(now), _at(not_after)))
            grant_id = int(cur.lastrowid or 0)
            policy = agreement(grant_id, request, self.usage.dataset(request.dataset).owner, not_after)
            self._db.execute("update grants set agreement = ? where id = ?", (policy.model_dump_json(by_alias=True),
                                                                               grant_id))
            self._decide(request, "approved", steward, now, None, grant_id)
            self.log.append("approve", steward, consumer=request.consumer, dataset=request.dataset, at=now,
                            request=request.id, grant=grant_id)
            self.log.append("grant", steward, consumer=request.consumer, dataset=request.dataset, at=now,
                            grant=grant_id, request=request.id, not_after=_at(not_after), policy=policy.to_json())
        return self.grant_of(grant_id)

    def _offer_problems(self, dataset: str, purpose: str, role: str, rows: int, downloads: int, days: int
                        ) -> list[str]:
        """How a request goes beyond the dataset's offer (empty: it fits)."""
        facts = {"purpose": purpose, "role": role, "rows": rows, "count": downloads,
                 "elapsedTime": timedelta(days=days)}
        return self.usage.dataset(dataset).offer(dataset).failures("reproduce" if downloads else "read", facts)

    def _within_offer(self, request: AccessRequest) -> None:
        """The usage policy may have tightened since the request: check it again when deciding."""
        problems = self._offer_problems(request.dataset, request.purpose, request.role, request.rows,
                                        request.downloads, request.days)
        if problems:
            raise CityDataError(f"access request {request.id} no longer fits the usage policy of "
                                f"{request.dataset}: {'; '.join(problems)}")

    def reject(self, request_id: int, steward: str, reason: str, now: datetime) -> AccessRequest:
        with self.exclusive():
            request = self._pending(request_id, steward)
            self._decide(request, "rejected", steward, now, reason, None)
            self.log.append("reject", steward, consumer=request.consumer, dataset=request.dataset, at=now,
                            request=request.id, reason=reason)
        return self.request_of(request_id)

    def _decide(self, request: AccessRequest, status: str, steward: str, now: datetime, reason: str | None,
                grant_id: int | None) -> None:
        self._db.execute("update requests set status = ?, decided_by = ?, decided_at = ?, reason = ?, grant_id = ?"
                         " where id = ?", (status, steward, _at(now), reason, grant_id, request.id))

    def revoke(self, grant_id: int, steward: str, reason: str, now: datetime) -> Grant:
        """Revoke at once: the next check of this grant refuses."""
        with self.exclusive():
            grant = self.grant_of(grant_id)
            if grant.revoked_at:
                raise CityDataError(f"grant {grant_id} was already revoked at {grant.revoked_at} by {grant.revoked_by}")
            self.usage.require_steward(steward, grant.dataset, f"revoke grant {grant_id} on {grant.dataset}")
            self._db.execute("update grants set revoked_by = ?, revoked_at = ?, revoke_reason = ? where id = ?",
                             (steward, _at(now), reason, grant_id))
            self.log.append("revoke", steward, consumer=grant.consumer, dataset=grant.dataset, at=now,
                            grant=grant_id, reason=reason)
        return self.grant_of(grant_id)

    # -- every use -----------------------------------------------------------------------------

    def check(self, grant_id: int, actor: Actor, dataset: str, purpose: str | None, *, rows: int, download: bool,
              now: datetime) -> Grant:
        """The grant if it permits this use (``rows`` more rows, one more download if ``download``);
        otherwise a one-line refusal. Call inside :meth:`exclusive` and log the use before it ends."""
        _at(now)  # refuses a time without a zone before it is compared with the grant's expiry
        grant = self.grant_of(grant_id)
        if grant.consumer != actor.id:  # say nothing of another consumer's grant
            raise CityDataError(f"grant {grant_id} is not yours ({actor.id}): present a grant issued to you")
        if grant.dataset != dataset:
            raise CityDataError(f"grant {grant_id} is for {grant.dataset}, not {dataset}")
        if grant.revoked_at:
            raise CityDataError(f"grant {grant_id} was revoked at {grant.revoked_at} by {grant.revoked_by}: "
                                f"{grant.revoke_reason}")
        used_rows, used_downloads = self.log.grant_usage(grant_id)
        facts: dict[str, Any] = {"recipient": actor.id, "role": actor.role, "purpose": purpose, "dateTime": now,
                                 "rows": used_rows + rows, "count": used_downloads + 1}
        action: Action = "reproduce" if download else "read"
        problems = grant.policy.failures(action, facts)
        if problems:
            raise CityDataError(f"grant {grant_id} refuses this {'download' if download else 'read'}: "
                                f"{'; '.join(problems)} (used so far: {used_rows} rows, {used_downloads} downloads)")
        return grant
