"""Column sources of dbt models, read from their compiled SQL with sqlglot.

For each output column of a model: the input relations' columns it is computed from — through
CTEs, joins, unions, CASE, casts and aggregates (a column used only to filter or order rows is a
source too when sqlglot's lineage walks through it, e.g. a pivot over ``attribute = '…'``). This is
what lets column lineage follow renames (``id_number as person_id``) that same-name matching misses.

A manifest from ``dbt build`` / ``dbt compile`` carries ``compiled_code``; ``dbt parse`` does not,
and then nothing is returned. A model sqlglot cannot parse, or a column it cannot trace, is simply
left out (the caller falls back to same-named columns).
"""

from __future__ import annotations

from typing import Any

Relation = str  # "<schema>.<table>"
ColumnSources = dict[Relation, dict[str, set[tuple[Relation, str]]]]


def model_column_sources(manifest: dict[str, Any], relations: dict[Relation, list[str]]) -> ColumnSources:
    """``{"<schema>.<model>": {column: {("<schema>.<input relation>", column), …}}}`` for every
    compiled model whose output columns ``relations`` (``{"schema.table": [column, …]}``, every
    relation the models read included) knows."""
    dialect = (manifest.get("metadata") or {}).get("adapter_type") or "duckdb"
    schema: dict[str, dict[str, dict[str, str]]] = {}
    for relation, columns in relations.items():
        db, _, table = relation.partition(".")
        schema.setdefault(db, {})[table] = dict.fromkeys(columns, "VARCHAR")
    out: ColumnSources = {}
    for node in (manifest.get("nodes") or {}).values():
        sql = node.get("compiled_code")
        relation = f"{node.get('schema')}.{node.get('alias') or node.get('name')}"
        if node.get("resource_type") != "model" or not sql or relation not in relations:
            continue
        traced = _trace(sql, relations[relation], schema, dialect)
        if traced:
            out[relation] = traced
    return out


def _trace(sql: str, columns: list[str], schema: dict, dialect: str) -> dict[str, set[tuple[Relation, str]]]:
    from sqlglot import exp, parse_one
    from sqlglot.errors import SqlglotError
    from sqlglot.lineage import lineage
    from sqlglot.optimizer.qualify import qualify
    from sqlglot.optimizer.scope import build_scope

    try:
        tree = parse_one(sql, dialect=dialect)
        for table in tree.find_all(exp.Table):
            table.set("catalog", None)  # the warehouse file's name; relations are schema.table
        tree = qualify(tree, schema=schema, dialect=dialect, validate_qualify_columns=False)
        scope = build_scope(tree)
    except (SqlglotError, ValueError):
        return {}
    if scope is None:
        return {}
    traced: dict[str, set[tuple[Relation, str]]] = {}
    for column in columns:
        try:
            node = lineage(column, tree, schema=schema, dialect=dialect, scope=scope, copy=False,
                           trim_selects=False)  # no display SQL: ~4x faster, same sources
        except (SqlglotError, ValueError, KeyError):
            continue
        sources = {(f"{leaf.expression.db}.{leaf.expression.name}", exp.to_column(leaf.name).name)
                   for leaf in node.walk() if isinstance(leaf.expression, exp.Table)}
        traced[column] = sources
    return traced
