"""Expectation suites committed under ``expectations/``, one YAML file per layer.

Each entry names a Great Expectations expectation by its snake_case type, its keyword arguments
and a severity (``block`` stops publication, ``warn`` is reported only). Tables are
``<schema>.<table>`` in the warehouse; ``raw.*`` expands to every raw current-state view.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from citydata.errors import CityDataError


class ExpectationSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")
    expectation: str = Field(pattern=r"^expect_[a-z0-9_]+$")
    kwargs: dict[str, Any] = Field(default_factory=dict)
    severity: Literal["block", "warn"] = "block"
    department: str | None = None  # whose data this checks, for routing a failure back

    @property
    def column(self) -> str | None:
        return self.kwargs.get("column")


class Suite(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str
    layer: Literal["raw", "staging", "marts"]
    tables: dict[str, list[ExpectationSpec]]


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
