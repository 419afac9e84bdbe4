"""What a gate run decided: per expectation, per table, per run; and what the last passed run found for a
table (what an incremental run may carry, ``unchanged.py``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from citydata.quality.profile import Profile


@dataclass
class ExpectationResult:
    expectation: str
    column: str | None
    success: bool
    unexpected_count: int
    severity: str
    department: str | None = None
    detail: str = ""
    observed: Any = None
    check: str = ""  # the spec's fingerprint (check_key): what a later run matches a carried result by


@dataclass
class TableResult:
    table: str
    rows: int
    expectations: list[ExpectationResult] = field(default_factory=list)
    rows_validated: int | None = None  # rows the row-level checks saw (the changed partition when incremental)
    watermark: str | None = None  # the newest load time in the table
    signature: str | None = None  # a raw view's change log: "<events>|<newest load time>"
    carried_from: str | None = None  # the run whose results an unchanged raw view kept
    profile: Profile | None = field(default=None, repr=False)  # the scorecard's counts, from the same pass

    @property
    def passed(self) -> bool:
        return all(e.success or e.severity == "warn" for e in self.expectations)


@dataclass(frozen=True)
class PreviousRun:
    """What the last passed run found for one table (``runs.previous_results``)."""

    run_at: str
    rows: int
    watermark: str | None
    signature: str | None
    results: dict[str, ExpectationResult]  # check_key → result
    distinct_keys: int | None = None  # the scorecard profile's, and of which key (Profile.key)
    profile_key: str | None = None

    def keys_all_distinct(self, key: str) -> bool:
        """Whether this run found every value of ``key`` (comma-joined columns) present and distinct."""
        return self.profile_key == key and self.distinct_keys is not None and self.distinct_keys == self.rows


@dataclass
class GateResult:
    tables: list[TableResult]
    seconds: float
    validations: list[Any] = field(default_factory=list, repr=False)  # GE results, for Data Docs

    @property
    def passed(self) -> bool:
        return all(t.passed for t in self.tables)

    def failures(self) -> list[tuple[str, ExpectationResult]]:
        return [(t.table, e) for t in self.tables for e in t.expectations
                if not e.success and e.severity == "block"]

    def to_dict(self) -> dict:
        return {
            "passed": self.passed,
            "seconds": round(self.seconds, 3),
            "tables": {t.table: {"passed": t.passed, "rows": t.rows, "rows_validated": t.rows_validated,
                                 "watermark": t.watermark,
                                 "expectations": [{**e.__dict__, "observed": _jsonable(e.observed)}
                                                  for e in t.expectations]}
                       for t in self.tables},
        }


def _jsonable(value: Any) -> Any:
    if value is None or isinstance(value, bool | int | float | str):
        return value
    return str(value)
