"""The Great Expectations gate: validate warehouse tables, return a verdict per table and expectation.

Great Expectations cannot validate DuckDB through SQLAlchemy (GE issues 10738, 11579), so each
table is read from DuckDB as an Arrow-backed pandas frame and validated with GE's pandas
datasource, in one ephemeral context per gate run.
"""

from __future__ import annotations

import logging
import os
import time
from dataclasses import dataclass, field

import duckdb

from citydata.quality.suites import ExpectationSpec, Suite

os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")


@dataclass
class ExpectationResult:
    expectation: str
    column: str | None
    success: bool
    unexpected_count: int
    severity: str
    department: str | None = None
    detail: str = ""


@dataclass
class TableResult:
    table: str
    rows: int
    expectations: list[ExpectationResult] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return all(e.success or e.severity == "warn" for e in self.expectations)


@dataclass
class GateResult:
    tables: list[TableResult]
    seconds: float

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
            "tables": {t.table: {"passed": t.passed, "rows": t.rows,
                                 "expectations": [e.__dict__ for e in t.expectations]}
                       for t in self.tables},
        }


def _expand(con: duckdb.DuckDBPyConnection, pattern: str) -> list[str]:
    schema, _, table = pattern.partition(".")
    if table != "*":
        return [pattern]
    rows = con.execute("select table_name from information_schema.tables where table_schema = ? "
                       "order by table_name", [schema]).fetchall()
    return [f"{schema}.{r[0]}" for r in rows if schema != "raw" or r[0].endswith("__current")]


def _gx_expectation(spec: ExpectationSpec):
    import great_expectations as gx

    cls_name = "".join(part.capitalize() for part in spec.expectation.split("_"))
    cls = getattr(gx.expectations, cls_name, None)
    if cls is None:
        from citydata.errors import CityDataError
        raise CityDataError(f"unknown expectation {spec.expectation!r}: see Great Expectations' gallery")
    return cls(**spec.kwargs)


def run_gate(con: duckdb.DuckDBPyConnection, suites: list[Suite],
             layers: tuple[str, ...] = ("raw", "marts"), schema_map: dict[str, str] | None = None) -> GateResult:
    """Validate every table of the chosen layers. ``schema_map`` redirects e.g. a mart schema to
    the staging copy being audited before publish."""
    import great_expectations as gx

    logging.getLogger("great_expectations").setLevel(logging.ERROR)
    started = time.perf_counter()
    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = {"globally": False}
    source = context.data_sources.add_pandas("warehouse")
    results: list[TableResult] = []
    for suite in suites:
        if suite.layer not in layers:
            continue
        for pattern, specs in suite.tables.items():
            for table in _expand(con, pattern):
                schema, _, name = table.partition(".")
                physical = f'"{(schema_map or {}).get(schema, schema)}"."{name}"'
                try:
                    frame = con.sql(f"select * from {physical}").to_arrow_table().to_pandas()
                except duckdb.CatalogException:
                    results.append(TableResult(table, 0, [ExpectationResult(
                        "table_exists", None, False, 0, "block", detail=f"{table} does not exist")]))
                    continue
                asset = source.add_dataframe_asset(table.replace(".", "__"))
                batch = asset.add_batch_definition_whole_dataframe("all").get_batch(
                    batch_parameters={"dataframe": frame})
                suite_gx = gx.ExpectationSuite(f"{suite.name}:{table}")
                applicable = [s for s in specs if s.column is None or s.column in frame.columns]
                missing = [s for s in specs if s not in applicable]
                for spec in applicable:
                    suite_gx.add_expectation(_gx_expectation(spec))
                validation = batch.validate(suite_gx)
                table_result = TableResult(table, len(frame))
                for spec, res in zip(applicable, validation.results):
                    table_result.expectations.append(ExpectationResult(
                        spec.expectation, spec.column, bool(res.success),
                        int(res.result.get("unexpected_count") or 0), spec.severity, spec.department))
                for spec in missing:
                    table_result.expectations.append(ExpectationResult(
                        spec.expectation, spec.column, False, 0, spec.severity, spec.department,
                        detail=f"column {spec.column!r} is missing"))
                results.append(table_result)
    return GateResult(results, time.perf_counter() - started)
