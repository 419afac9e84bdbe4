"""Expectation suites committed under ``expectations/``, one YAML file per layer.

Each entry names a Great Expectations expectation by its snake_case type, its keyword arguments
and a severity (``block`` stops publication, ``warn`` is reported only). Tables are
``<schema>.<table>`` in the warehouse; ``raw.*`` expands to every raw current-state view.

A table maps to a list of expectations, or to ``{derived: {name: SQL}, expectations: [...]}`` when
its checks need computed columns (portable SQL over the table's columns, e.g.
``extract(year from birth_date)``). Three kinds of expectation get their bounds at gate time:

- ``baseline: {row_count_change: 0.2}`` on ``expect_table_row_count_to_be_between``: within ±20% of
  the published (last good) version's row count;
- ``baseline: {distribution: true}`` on ``expect_column_kl_divergence_to_be_less_than``: the published
  version's value distribution of the column is the reference partition;
- ``max_age_hours: 48`` on ``expect_column_max_to_be_between``: the newest value (a load or update
  time) is at most that old at the run's logical time.

Before anything is published there is no baseline: those checks pass and say so in their detail.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from citydata.errors import CityDataError


class Baseline(BaseModel):
    """Bounds taken from the published version of the same table."""

    model_config = ConfigDict(extra="forbid")
    row_count_change: float | None = Field(None, gt=0)  # allowed relative change of the row count
    distribution: bool = False  # the published value distribution is the KL reference


class ExpectationSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")
    expectation: str = Field(pattern=r"^expect_[a-z0-9_]+$")
    kwargs: dict[str, Any] = Field(default_factory=dict)
    severity: Literal["block", "warn"] = "block"
    department: str | None = None  # whose data this checks, for routing a failure back
    baseline: Baseline | None = None
    max_age_hours: float | None = Field(None, gt=0)

    @property
    def column(self) -> str | None:
        return self.kwargs.get("column")

    @model_validator(mode="after")
    def _dynamic_bounds_fit(self) -> ExpectationSpec:
        if self.baseline and self.baseline.row_count_change and \
                self.expectation != "expect_table_row_count_to_be_between":
            raise ValueError("baseline.row_count_change applies to expect_table_row_count_to_be_between")
        if self.baseline and self.baseline.distribution and \
                self.expectation != "expect_column_kl_divergence_to_be_less_than":
            raise ValueError("baseline.distribution applies to expect_column_kl_divergence_to_be_less_than")
        if self.max_age_hours and self.expectation != "expect_column_max_to_be_between":
            raise ValueError("max_age_hours applies to expect_column_max_to_be_between")
        return self


class TableSuite(BaseModel):
    model_config = ConfigDict(extra="forbid")
    derived: dict[str, str] = Field(default_factory=dict)
    expectations: list[ExpectationSpec]


class Suite(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str
    layer: Literal["raw", "staging", "marts"]
    tables: dict[str, TableSuite]

    @model_validator(mode="before")
    @classmethod
    def _list_shorthand(cls, data: Any) -> Any:
        if isinstance(data, dict) and isinstance(data.get("tables"), dict):
            data = {**data, "tables": {name: {"expectations": entry} if isinstance(entry, list) else entry
                                       for name, entry in data["tables"].items()}}
        return data


def load_suite(path: Path) -> Suite:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        return Suite.model_validate(data)
    except yaml.YAMLError:
        raise CityDataError(f"{path}: not valid YAML: fix the syntax") from None
    except ValidationError as exc:
        err = exc.errors()[0]
        field = ".".join(str(p) for p in err["loc"])
        raise CityDataError(f"{path}: field '{field}': {err['msg']}") from None


def load_suites(directory: Path) -> list[Suite]:
    files = sorted(directory.glob("*.yaml"))
    if not files:
        raise CityDataError(f"no expectation suites in {directory}: add <layer>.yaml files")
    return [load_suite(f) for f in files]
