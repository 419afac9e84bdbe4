"""Roles and masking: the ONE function every outbound path calls before data leaves the platform.

:func:`enforce` takes a frame, the grade (and class) of each column, the reader's role and — when
the policy says ``hash`` — the reader's domain pseudonymiser, and returns what that role may see.
It fails closed: an unknown role is refused, a column without a grade is treated as L4, a ``hash``
without a pseudonymiser is refused, and a rule the policy lacks means ``deny``.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Literal

import pandas as pd
from pydantic import BaseModel, model_validator

from citydata.circulation.policy_files import load_policy
from citydata.circulation.pseudonyms import Pseudonymiser
from citydata.errors import CityDataError

Action = Literal["allow", "mask", "hash", "generalise", "deny"]
STRICTEST = "L4"


class MaskingPolicy(BaseModel):
    roles: dict[str, str]
    rules: dict[str, dict[str, Action]]

    @model_validator(mode="after")
    def _complete(self) -> MaskingPolicy:
        for grade, by_role in self.rules.items():
            missing = set(self.roles) - set(by_role)
            unknown = set(by_role) - set(self.roles)
            if missing or unknown:
                raise ValueError(f"rules.{grade} must name each role exactly: missing {sorted(missing)}, "
                                 f"unknown {sorted(unknown)}")
        return self

    def action(self, grade: str, role: str) -> Action:
        return self.rules.get(grade, {}).get(role, "deny")


def load_masking(policies_dir: Path) -> MaskingPolicy:
    return load_policy(Path(policies_dir) / "masking.yaml", MaskingPolicy)


def mask_value(value: str, classification: str | None) -> str:
    """Display masking after GB/T 35273 practice: keep a little at the ends, star the middle."""
    v = str(value)
    if classification == "resident_id" and len(v) == 18:
        return v[:6] + "*" * 8 + v[-4:]
    if classification == "mobile" and len(v) >= 11:
        return v[:3] + "****" + v[-4:]
    if classification == "person_name":
        return v[:1] + "*" * max(1, len(v) - 1)
    if classification == "email" and "@" in v:
        user, _, host = v.partition("@")
        return user[:1] + "***@" + host
    if classification == "address":
        return _address_prefix(v) + "****"
    if len(v) <= 2:
        return "*" * len(v)
    keep = max(1, len(v) // 4)
    return v[:keep] + "*" * (len(v) - 2 * keep) + v[-keep:]


def _address_prefix(v: str) -> str:
    m = re.match(r"^.*?(?:区|县|旗|市(?!场))", v[:12])
    return m.group(0) if m and m.end() < len(v) else v[:2]


def generalise_value(value: object, classification: str | None) -> str:
    """A coarser value: a date's year, a number's order of magnitude, an address's district, an ID's region."""
    if isinstance(value, pd.Timestamp) or hasattr(value, "year"):
        return str(value.year)
    if isinstance(value, int | float) and not isinstance(value, bool):
        magnitude = 10 ** max(0, len(str(int(abs(value)))) - 1)
        low = int(value // magnitude * magnitude)
        return f"{low}–{low + magnitude}"
    v = str(value)
    if classification in ("resident_id", "subject_code") and len(v) == 18:
        return v[:4] + "**"
    if classification == "address":
        return _address_prefix(v)
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}.*", v):
        return v[:4]
    return v[:1] + "…" if len(v) > 1 else "*"


def enforce(frame: pd.DataFrame, grades: dict[str, str], role: str, policy: MaskingPolicy, *,
            classes: dict[str, str | None] | None = None, pseudonymiser: Pseudonymiser | None = None
            ) -> pd.DataFrame:
    """What ``role`` may see of ``frame``; ``grades`` maps columns to L1…L4 (missing: L4)."""
    if role not in policy.roles:
        raise CityDataError(f"role {role!r} is not one of {', '.join(policy.roles)}: nothing is returned")
    classes = classes or {}
    out = {}
    for column in frame.columns:
        action = policy.action(grades.get(column, STRICTEST), role)
        if action == "deny":
            continue
        if action == "allow":
            out[column] = frame[column]
            continue
        if action == "hash" and pseudonymiser is None:
            raise CityDataError(f"column {column!r} is pseudonymised for role {role}: the reader has no consumer domain")
        change = _transform(action, classes.get(column), pseudonymiser)
        out[column] = frame[column].map(lambda v, f=change: None if pd.isna(v) else f(v))
    return pd.DataFrame(out, index=frame.index)


def _transform(action: Action, cls: str | None, pseudonymiser: Pseudonymiser | None) -> Callable[[object], str]:
    if action == "hash":
        assert pseudonymiser is not None
        return lambda v: pseudonymiser.pseudonym(str(v), cls or "id")
    if action == "mask":
        return lambda v: mask_value(str(v), cls)
    return lambda v: generalise_value(v, cls)
