"""Column-level lineage on the catalog's edges (OpenMetadata ``lineageDetails.columnsLineage``).

What each hop can tell:

- department table → topic: every source column becomes the field ``after.<column>`` of the
  Debezium envelope (and ``before.<column>`` on updates and deletes);
- topic → raw table: ``after.<column>`` lands as the raw column of the same name; the envelope's
  ``op``, ``ts_ms``, ``before`` and ``source`` land in the sink's ``_``-prefixed columns;
- dbt model → model (raw → staging → intermediate → mart, seeds): where the model's compiled SQL
  could be traced (:mod:`citydata.catalog.sql_lineage`), the columns each output column is computed
  from, renames included; otherwise the same-named column of each upstream table it ``depends_on``
  (then a renamed or computed column gets no column edge).

Column FQNs are OpenMetadata's: the table's FQN plus the column name (a topic field adds its path,
``kafka."<topic>".after.<column>``).
"""

from __future__ import annotations

from typing import Any

from citydata.catalog.entities import column_fqn
from citydata.catalog.sql_lineage import ColumnSources

# Debezium envelope field → raw (landing sink) columns it fills.
_ENVELOPE_TO_RAW = {
    "op": ["_op"], "ts_ms": ["_event_ts_ms"], "before": ["_before"],
    "source": ["_source_seq", "_source_subseq", "_source_pos", "_tx_id", "_snapshot", "_source_ts_ms"],
}


def _column_names(entity: dict[str, Any]) -> list[str]:
    return [c["name"] for c in entity.get("columns") or []]


def _topic_fields(topic: dict[str, Any]) -> tuple[list[str], list[str]]:
    """(names of the ``after`` image's children, top-level envelope field names)."""
    fields = (topic.get("messageSchema") or {}).get("schemaFields") or []
    after = next((f for f in fields if f["name"] == "after"), {})
    return [c["name"] for c in after.get("children") or []], [f["name"] for f in fields]


Path = tuple[str, ...]


def relation(entity: dict[str, Any]) -> str:
    """``<schema>.<table>`` of a warehouse table (what compiled SQL names)."""
    return f"{entity['databaseSchema']['name']}.{entity['name']}"


def _pairs(up: dict[str, Any], down: dict[str, Any], sources: ColumnSources) -> list[tuple[Path, Path]]:
    """(from column path, to column path) for one edge; a path is a column name, or a topic
    field's names from the envelope down."""
    if up["entityType"] == "table" and down["entityType"] == "topic":
        after, _ = _topic_fields(down)
        have = set(_column_names(up))
        return [((c,), ("after", c)) for c in after if c in have]
    if up["entityType"] == "topic" and down["entityType"] == "table":
        after, envelope = _topic_fields(up)
        have = set(_column_names(down))
        pairs: list[tuple[Path, Path]] = [(("after", c), (c,)) for c in after if c in have]
        for field in envelope:
            pairs += [((field,), (col,)) for col in _ENVELOPE_TO_RAW.get(field, []) if col in have]
        return pairs
    have = set(_column_names(up))
    traced = sources.get(relation(down), {}) if down.get("databaseSchema") and up.get("databaseSchema") else {}
    upstream = {relation(up), relation(up) + "__current"}
    pairs = []
    for c in _column_names(down):
        if c in traced:
            pairs += [((name,), (c,)) for rel, name in sorted(traced[c]) if rel in upstream and name in have]
        elif c in have:
            pairs.append(((c,), (c,)))
    return pairs


def attach_column_lineage(entities: list[dict[str, Any]], edges: list[dict[str, Any]],
                          sources: ColumnSources | None = None) -> int:
    """Set ``lineageDetails.columnsLineage`` on every edge whose ends share columns; ``sources``
    are models' traced column sources (:func:`citydata.catalog.sql_lineage.model_column_sources`).
    Returns the number of column edges (from-column → to-column pairs)."""
    by_fqn = {e["fullyQualifiedName"]: e for e in entities}
    total = 0
    for edge in edges:
        up = by_fqn.get(edge["fromEntity"]["fullyQualifiedName"])
        down = by_fqn.get(edge["toEntity"]["fullyQualifiedName"])
        if up is None or down is None:
            continue
        grouped: dict[Path, list[Path]] = {}
        for source, target in _pairs(up, down, sources or {}):
            grouped.setdefault(target, []).append(source)
        lineage = [{"fromColumns": [column_fqn(up["fullyQualifiedName"], *s) for s in froms],
                    "toColumn": column_fqn(down["fullyQualifiedName"], *target)}
                   for target, froms in grouped.items()]
        details = edge.setdefault("lineageDetails", {})
        if lineage:
            details["columnsLineage"] = lineage
            total += len(lineage)
        else:
            details.pop("columnsLineage", None)
    return total
