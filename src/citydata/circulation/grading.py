"""Grading (分级): grades of classes from ``policies/grading.yaml``, propagated along column lineage.

A derived column inherits the strictest grade of the columns it is computed from, unless its model
declares it de-identified (dbt model meta ``deidentified: [column, …]``); then it gets the policy's
``deidentified_grade``. Lineage is the catalog's column lineage (``lineageDetails.columnsLineage``
on its edges, see :mod:`citydata.catalog.column_lineage`).
"""

from __future__ import annotations

from collections import defaultdict
from graphlib import CycleError, TopologicalSorter
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, model_validator

from citydata.circulation.policy_files import load_policy
from citydata.errors import CityDataError

Grade = Literal["L1", "L2", "L3", "L4"]


class ClassPolicy(BaseModel):
    grade: Grade
    personal: Literal["sensitive", "general", "none"]
    zh: str = ""  # labels for the catalog's DataClassification tags
    en: str = ""


class GradingPolicy(BaseModel):
    default_grade: Grade
    deidentified_grade: Grade
    grades: dict[Grade, dict[str, str]]
    classes: dict[str, ClassPolicy]

    @model_validator(mode="after")
    def _all_grades_described(self) -> GradingPolicy:
        missing = {"L1", "L2", "L3", "L4"} - set(self.grades)
        if missing:
            raise ValueError(f"grades lacks {', '.join(sorted(missing))}")
        return self

    def grade_of(self, classification: str | None) -> Grade:
        if classification is None:
            return self.default_grade
        if classification not in self.classes:
            raise CityDataError(f"class {classification!r} has no grade in the grading policy: add it under classes")
        return self.classes[classification].grade


def load_grading(policies_dir: Path) -> GradingPolicy:
    return load_policy(Path(policies_dir) / "grading.yaml", GradingPolicy)


def deidentified_columns(manifest: dict[str, Any]) -> dict[str, set[str]]:
    """``{"<schema>.<model>": {column, …}}`` from dbt models' ``meta.deidentified``."""
    out: dict[str, set[str]] = {}
    for node in (manifest.get("nodes") or {}).values():
        meta = {**((node.get("config") or {}).get("meta") or {}), **(node.get("meta") or {})}
        if node.get("resource_type") == "model" and meta.get("deidentified"):
            out[f"{node['schema']}.{node.get('alias') or node['name']}"] = set(meta["deidentified"])
    return out


def _relation(fqn: str) -> str:
    """``<schema>.<table>`` of a warehouse column's table FQN (``warehouse.citydata.<schema>.<table>``)."""
    return ".".join(fqn.split(".")[-2:])


def propagate(catalog: dict[str, Any], seeds: dict[str, str], policy: GradingPolicy,
              deidentified: dict[str, set[str]] | None = None) -> dict[str, dict[str, Any]]:
    """Grades of every column reachable in the catalog's column lineage.

    ``seeds`` are ``{column FQN: grade}`` of classified columns (sources, or anywhere a detector
    ran). Returns ``{column FQN: {"grade", "from": [input FQNs], "deidentified": bool}}``.
    """
    inputs: dict[str, set[str]] = defaultdict(set)
    for edge in (catalog.get("lineage") or {}).get("edges") or []:
        for cl in (edge.get("lineageDetails") or {}).get("columnsLineage") or []:
            inputs[cl["toColumn"]].update(cl["fromColumns"])
    deid = deidentified or {}
    order = TopologicalSorter({c: sorted(f) for c, f in inputs.items()})
    try:
        columns = list(order.static_order())
    except CycleError as exc:
        raise CityDataError(f"column lineage has a cycle through {exc.args[1][0]}: check the models' SQL") from None
    result: dict[str, dict[str, Any]] = {}
    for column in columns + [c for c in seeds if c not in inputs]:
        table, _, name = column.rpartition(".")
        if name in deid.get(_relation(table), set()):
            result[column] = {"grade": policy.deidentified_grade, "from": sorted(inputs[column]), "deidentified": True}
            continue
        grades = [result[f]["grade"] for f in inputs.get(column, ()) if f in result]
        if column in seeds:
            grades.append(seeds[column])
        result[column] = {"grade": max(grades, default=policy.default_grade),
                          "from": sorted(inputs.get(column, ())), "deidentified": False}
    return result
