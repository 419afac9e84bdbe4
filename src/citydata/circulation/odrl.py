"""Usage rules in ODRL 2.2's shape: a Policy holds Permissions, each an action on a target with Constraints.

A constraint is ``leftOperand operator rightOperand``, evaluated against the facts of one use:
``purpose``, ``dateTime`` (the time of use), ``count`` (times the action will have been exercised,
this use included), ``elapsedTime`` (a requested grant period), ``recipient`` — from ODRL's
vocabulary — and two operands of citydata's profile (``urn:citydata:odrl``): ``rows`` (rows
released under the grant, this use included) and ``role`` (the recipient's role). Operators are
ODRL's ``eq``, ``neq``, ``lt``, ``lteq``, ``gt``, ``gteq``, ``isAnyOf`` and ``isNoneOf``.

Evaluation fails closed: a fact a constraint needs but the use does not supply fails it.
"""

from __future__ import annotations

import operator
import re
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from citydata.errors import CityDataError

PROFILE = "urn:citydata:odrl"
LeftOperand = Literal["purpose", "dateTime", "count", "elapsedTime", "recipient", "rows", "role"]
Operator = Literal["eq", "neq", "lt", "lteq", "gt", "gteq", "isAnyOf", "isNoneOf"]
Action = Literal["read", "reproduce"]  # read = a restricted read; reproduce = a download (a copy leaves)

_COMPARE: dict[str, Callable[[Any, Any], bool]] = {
    "eq": operator.eq, "neq": operator.ne, "lt": operator.lt, "lteq": operator.le, "gt": operator.gt,
    "gteq": operator.ge, "isAnyOf": lambda v, r: v in r, "isNoneOf": lambda v, r: v not in r,
}
_DAYS = re.compile(r"^P(\d+)D$")


def days(n: int) -> str:
    """An ISO 8601 duration of ``n`` days (ODRL's ``xsd:duration``)."""
    return f"P{n}D"


def parse_days(duration: str) -> timedelta:
    match = _DAYS.match(duration)
    if not match:
        raise CityDataError(f"duration {duration!r} is not whole days in ISO 8601 form (e.g. P90D)")
    return timedelta(days=int(match.group(1)))


class Constraint(BaseModel):
    model_config = ConfigDict(frozen=True)

    leftOperand: LeftOperand
    operator: Operator
    rightOperand: str | int | list[str]

    def _right(self) -> Any:
        if self.leftOperand == "dateTime":
            return datetime.fromisoformat(str(self.rightOperand))
        if self.leftOperand == "elapsedTime":
            return parse_days(str(self.rightOperand))
        return self.rightOperand

    def satisfied(self, facts: dict[str, Any]) -> bool:
        value = facts.get(self.leftOperand)
        if value is None:
            return False
        return bool(_COMPARE[self.operator](value, self._right()))

    def describe(self, value: Any) -> str:
        """Why ``value`` fails this constraint, in one clause."""
        right = self.rightOperand
        shown = ", ".join(right) if isinstance(right, list) else right
        name = {"dateTime": "time of use", "count": "downloads", "elapsedTime": "period"}.get(
            self.leftOperand, self.leftOperand)
        if value is None:
            return f"{name} is not stated"
        if self.leftOperand == "dateTime" and self.operator in ("lt", "lteq"):
            return f"expired at {right} (use at {value.isoformat()})"
        if isinstance(value, datetime | timedelta):
            value = value.isoformat() if isinstance(value, datetime) else days(value.days)
        words = {"eq": "must be", "neq": "must not be", "lt": "must be below", "lteq": "may be at most",
                 "gt": "must be above", "gteq": "must be at least", "isAnyOf": "must be one of",
                 "isNoneOf": "must be none of"}[self.operator]
        return f"{name} {value!r}: {words} {shown}"


class Permission(BaseModel):
    action: Action
    target: str
    assigner: str | None = None
    assignee: str | None = None
    constraint: list[Constraint] = Field(default_factory=list)

    def failures(self, facts: dict[str, Any]) -> list[str]:
        """One clause per unmet constraint; empty when the action is permitted."""
        return [c.describe(facts.get(c.leftOperand)) for c in self.constraint if not c.satisfied(facts)]


class Policy(BaseModel):
    """``Offer`` (a dataset's terms), ``Agreement`` (a grant to one consumer) or ``Set``."""

    model_config = ConfigDict(populate_by_name=True)

    context: str = Field("http://www.w3.org/ns/odrl.jsonld", alias="@context")
    type: Literal["Offer", "Agreement", "Set"] = Field(alias="@type")
    uid: str
    profile: str = PROFILE
    permission: list[Permission]

    def permission_for(self, action: Action) -> Permission | None:
        return next((p for p in self.permission if p.action == action), None)

    def failures(self, action: Action, facts: dict[str, Any]) -> list[str]:
        """Why ``action`` with ``facts`` is not permitted (empty: permitted); no permission → refused."""
        permission = self.permission_for(action)
        if permission is None:
            return [f"{self.uid} permits no {action}"]
        return permission.failures(facts)

    def to_json(self) -> dict[str, Any]:
        return self.model_dump(mode="json", by_alias=True)
