"""Dataset usage policies (``policies/usage.yaml``): owner, openness, and a conditional dataset's terms as an ODRL Offer."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field, PositiveInt, model_validator

from citydata.circulation.odrl import Constraint, Permission, Policy, days
from citydata.circulation.policy_files import load_policy
from citydata.errors import CityDataError

Openness = Literal["open", "conditional", "closed"]


class DatasetUsage(BaseModel):
    owner: str
    openness: Openness
    purposes: list[str] = []
    roles: list[str] = []
    max_rows: PositiveInt | None = None
    max_downloads: int = 0
    max_days: PositiveInt | None = None
    # open datasets about persons: column → generalisation ladder (circulation/kanon.py), checked at publish
    quasi_identifiers: dict[str, Literal["month", "category"]] = {}
    k: int = Field(default=5, ge=2)
    max_suppression: float = Field(default=0.05, ge=0, le=1)

    @model_validator(mode="after")
    def _terms_for_conditional(self) -> DatasetUsage:
        if self.openness == "conditional" and not (self.purposes and self.roles and self.max_rows and self.max_days):
            raise ValueError("a conditional dataset needs purposes, roles, max_rows and max_days")
        if self.quasi_identifiers and self.openness != "open":
            raise ValueError("quasi_identifiers apply to open datasets only (k-anonymity before publication)")
        return self

    def offer(self, dataset: str) -> Policy:
        """The terms any grant on ``dataset`` must stay within, as an ODRL Offer."""
        common = [Constraint(leftOperand="purpose", operator="isAnyOf", rightOperand=self.purposes),
                  Constraint(leftOperand="role", operator="isAnyOf", rightOperand=self.roles),
                  Constraint(leftOperand="rows", operator="lteq", rightOperand=self.max_rows or 0),
                  Constraint(leftOperand="elapsedTime", operator="lteq", rightOperand=days(self.max_days or 0))]
        permissions = [Permission(action="read", target=dataset, assigner=self.owner, constraint=common)]
        permissions.append(Permission(action="reproduce", target=dataset, assigner=self.owner, constraint=[
            *common, Constraint(leftOperand="count", operator="lteq", rightOperand=self.max_downloads)]))
        return Policy(type="Offer", uid=f"urn:citydata:offer:{dataset}", permission=permissions)


class UsagePolicies(BaseModel):
    purposes: dict[str, str]
    stewards: dict[str, str]
    datasets: dict[str, DatasetUsage]

    @model_validator(mode="after")
    def _known_purposes(self) -> UsagePolicies:
        for name, usage in self.datasets.items():
            unknown = set(usage.purposes) - set(self.purposes)
            if unknown:
                raise ValueError(f"datasets.{name}.purposes names {sorted(unknown)}, not listed under purposes")
        return self

    def dataset(self, name: str) -> DatasetUsage:
        if name not in self.datasets:
            raise CityDataError(f"dataset {name!r} has no usage policy in usage.yaml: nothing is released")
        return self.datasets[name]

    def require_steward(self, steward: str, dataset: str, doing: str) -> None:
        """Refuse unless ``steward`` is a steward of the department that owns ``dataset``."""
        if steward not in self.stewards:
            raise CityDataError(f"{steward!r} is not a steward listed in usage.yaml (stewards)")
        owner, department = self.dataset(dataset).owner, self.stewards[steward]
        if department != owner:
            raise CityDataError(f"steward {steward} of {department} cannot {doing}: it belongs to {owner}")


def load_usage(policies_dir: Path) -> UsagePolicies:
    return load_policy(Path(policies_dir) / "usage.yaml", UsagePolicies)
