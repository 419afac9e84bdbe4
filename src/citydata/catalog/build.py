"""Build the local catalog: department sources, Kafka topics, raw tables, dbt models, gates, lineage.

``build_catalog`` returns one plain JSON-able dict in OpenMetadata's vocabulary (see
``citydata.catalog`` for the shape). The portal reads it; an OpenMetadata publisher can send it.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from citydata.catalog import entities as E
from citydata.catalog.column_lineage import attach_column_lineage, relation
from citydata.catalog.dbt import enrich, manifest_entities
from citydata.errors import CityDataError
from citydata.ingest.config import ConnectorConfig, Table
from citydata.settings import Settings
from citydata.warehouse.raw import META_COLUMNS, RAW_SCHEMA, current_view_name, table_name

CATALOG_VERSION = 1

_META_DESCRIPTIONS = {  # (Chinese, English)
    "_topic": ("来源 Kafka 主题", "Kafka topic the event was read from"),
    "_partition": ("Kafka 分区", "Kafka partition"), "_offset": ("Kafka 偏移量", "Kafka offset"),
    "_key": ("事件键：主键的 JSON", "Event key: JSON of the primary key"),
    "_op": ("变更类型：r 快照，c 新增，u 修改，d 删除", "Change operation: r (snapshot), c, u, d"),
    "_source_seq": ("源端顺序（LSN / 位点）", "Source order (LSN / position)"),
    "_source_pos": ("源端位点文本", "Source position as text"),
    "_tx_id": ("源端事务号", "Source transaction id"),
    "_snapshot": ("是否在初始快照中读取", "Read during the initial snapshot"),
    "_source_ts_ms": ("源端提交时间（毫秒）", "Source commit time (ms)"),
    "_event_ts_ms": ("采集器事件时间（毫秒）", "Connector event time (ms)"),
    "_loaded_at": ("落地时间", "Time the landing sink stored it"),
    "_before": ("变更前的行（JSON）", "Row image before the change (JSON)"),
}

_ENVELOPE_FIELDS = [("source", "RECORD"), ("op", "STRING"), ("ts_ms", "LONG")]


def _services() -> list[dict[str, Any]]:
    return [
        {"name": E.KAFKA_SERVICE, "type": "messagingService", "serviceType": "Kafka",
         "displayName": "消息总线", "description": "Kafka topics carrying CDC change events"},
        {"name": E.SOURCE_SERVICE, "type": "databaseService", "serviceType": "Postgres",
         "displayName": "部门源系统", "description": "Department source databases"},
        # OpenMetadata has no DuckDB service type; CustomDatabase is its type for everything else.
        {"name": E.WAREHOUSE_SERVICE, "type": "databaseService", "serviceType": "CustomDatabase",
         "displayName": "数据仓库",
         "description": "The bureau's warehouse (DuckDB, or PostgreSQL at scale): raw, staging, marts"},
    ]


def _source_columns(table: Table, label_type: str = "Manual", all_text: bool = False) -> list[dict]:
    return [E.column(name, "VARCHAR" if all_text else spec.type,
                     description=_class_description(spec.classification),
                     tags=E.classification_tags(spec.classification, label_type),
                     primary_key=name in table.primary_key and not all_text,
                     position=i)
            for i, (name, spec) in enumerate(table.columns.items(), start=1)]


def _class_description(classification: str | None) -> str:
    zh, en, _ = E.CLASSIFICATIONS.get(classification or "", ("", "", ""))
    return E.bilingual(zh, en)


def _connector_entities(connector: ConnectorConfig, owner: dict[str, Any]
                        ) -> tuple[list[dict], list[dict], list[dict]]:
    """Source tables, topics, raw tables and their edges for one connector."""
    tables: list[dict] = []
    topics: list[dict] = []
    edges: list[dict] = []
    dept = connector.department
    for t in connector.tables:
        ext = {"department": dept.code, "connector": connector.name, "sourceTable": f"{t.schema_}.{t.name}"}
        zh = t.description_zh or t.name
        source = E.table_entity(
            E.source_table_fqn(connector.name, t.schema_, t.name), kind="source",
            display_name=zh, description=E.bilingual(t.description_zh, t.description_en),
            columns=_source_columns(t), owner=owner, extension={**ext, "primaryKey": list(t.primary_key)})
        topic_name = connector.topic(t)
        image = {"name": "after", "dataType": "RECORD",
                 "children": [{"name": n, "dataType": "STRING",
                               "tags": E.classification_tags(spec.classification, "Propagated")}
                              for n, spec in t.columns.items()]}
        fields = [{**image, "name": "before"}, image] + [{"name": n, "dataType": d} for n, d in _ENVELOPE_FIELDS]
        topic = E.topic_entity(
            topic_name, display_name=f"{zh}（变更事件）", owner=owner, schema_fields=fields,
            description=E.bilingual(
                f"{t.schema_}.{t.name}（{zh}）的变更事件，Debezium 格式",
                f"Debezium-style change events of {t.schema_}.{t.name} ({t.description_en})"),
            extension=ext)
        meta = [E.column(c, typ, description=E.bilingual(*_META_DESCRIPTIONS.get(c, ("", ""))), position=i)
                for i, (c, typ) in enumerate(META_COLUMNS, start=1)]
        data = _source_columns(t, "Propagated", all_text=True)
        for i, col in enumerate(data, start=len(meta) + 1):
            col["ordinalPosition"] = i
        raw_name = table_name(connector.name, t.name)
        raw = E.table_entity(
            E.warehouse_fqn(RAW_SCHEMA, raw_name), kind="raw", display_name=f"{zh}（原始变更）",
            description=E.bilingual(
                f"{connector.name} 的 {t.schema_}.{t.name}（{zh}）的只增变更日志；当前状态见视图 "
                f"{RAW_SCHEMA}.{current_view_name(connector.name, t.name)}",
                f"Append-only change log of {t.schema_}.{t.name} from {connector.name}; "
                f"current state in view {RAW_SCHEMA}.{current_view_name(connector.name, t.name)}"),
            columns=meta + data, owner=owner,
            extension={**ext, "topic": topic_name,
                       "currentView": f"{RAW_SCHEMA}.{current_view_name(connector.name, t.name)}"})
        tables += [source, raw]
        topics.append(topic)
        edges.append(E.edge(source, topic, "PipelineLineage", "CDC"))
        edges.append(E.edge(topic, raw, "PipelineLineage", "landing sink"))
    return tables, topics, edges


def _schema_key(entity: dict[str, Any]) -> str:
    return f"{entity['databaseSchema']['name']}.{entity['name']}"


def attach_quality(tables: list[dict], gate_results: dict | None,
                   row_counts: dict | None, now_ms: int) -> dict[str, Any]:
    """Put row counts in ``profile.rowCount`` and gate results in ``extension.gate``."""
    counts = dict(row_counts or {})
    gate_tables = dict((gate_results or {}).get("tables") or {})
    for t in tables:
        if t["service"]["name"] != E.WAREHOUSE_SERVICE:
            continue
        key = _schema_key(t)
        view = t["extension"].get("currentView")
        if key in counts:
            t["profile"] = {"rowCount": int(counts[key]), "timestamp": now_ms}
        if view and view in counts:
            t["extension"]["currentRowCount"] = int(counts[view])
        gate_key = key if key in gate_tables else view if view in gate_tables else None
        if gate_key:
            res = gate_tables[gate_key]
            if res.get("rows") is not None:
                if gate_key == key and "profile" not in t:
                    t["profile"] = {"rowCount": int(res["rows"]), "timestamp": now_ms}
                elif gate_key == view:
                    t["extension"].setdefault("currentRowCount", int(res["rows"]))
            exps = [dict(e) for e in res.get("expectations") or []]
            t["extension"]["gate"] = {
                "passed": bool(res.get("passed")), "expectations": exps,
                "unexpectedTotal": sum(int(e.get("unexpected_count") or 0) for e in exps)}
    known = {k for t in tables if t["service"]["name"] == E.WAREHOUSE_SERVICE
             for k in (_schema_key(t), t["extension"].get("currentView"))}
    failed = sorted(k for k, v in gate_tables.items() if not v.get("passed"))
    return {"passed": None if gate_results is None else bool(gate_results.get("passed")),
            "checkedTables": len(gate_tables), "failedTables": failed,
            "unmatchedTables": sorted(set(gate_tables) - known)}


def attach_scorecards(tables: list[dict], trends: dict[str, list[dict]]) -> None:
    """Put each dataset's scorecards (``quality.scorecards`` rows, oldest run first) in
    ``extension.scorecard``: the latest run's scores and the trend the portal draws."""
    for t in tables:
        if t["service"]["name"] != E.WAREHOUSE_SERVICE:
            continue
        view = t["extension"].get("currentView")
        trend = trends.get(_schema_key(t)) or (trends.get(view) if view else None)
        if trend:
            t["extension"]["scorecard"] = {"latest": trend[-1], "trend": trend}


def attach_kanon(tables: list[dict], checks: dict[str, dict]) -> None:
    """Put each open dataset's latest k-anonymity check (``quality.kanon_checks``) in ``extension.kAnonymity``."""
    for t in tables:
        if t["service"]["name"] == E.WAREHOUSE_SERVICE and _schema_key(t) in checks:
            t["extension"]["kAnonymity"] = checks[_schema_key(t)]


def apply_columns(tables: list[dict], table_columns: dict[str, list[tuple[str, str]]] | None) -> None:
    """Fill warehouse tables' column types (and columns dbt did not document) from the warehouse's
    own ``information_schema`` (see :func:`citydata.catalog.introspect.warehouse_columns`)."""
    for t in tables:
        found = (table_columns or {}).get(_schema_key(t)) if t["service"]["name"] == E.WAREHOUSE_SERVICE else None
        if not found:
            continue
        have = {c["name"]: c for c in t["columns"]}
        for name, type_text in found:
            typed = E.column(name, type_text)
            col = have.get(name)
            if col is None:
                typed["ordinalPosition"] = len(t["columns"]) + 1
                t["columns"].append(typed)
            elif col["dataType"] == "UNKNOWN":
                for k in ("dataType", "dataTypeDisplay", "dataLength", "precision", "scale"):
                    col.pop(k, None)
                    if k in typed:
                        col[k] = typed[k]


def apply_grades(entities: list[dict]) -> None:
    """Tag each table and topic with its data grade: the highest grade of its columns (topic:
    of its schema fields), ``DataGrade.L2`` (internal) when nothing in it is classified."""
    for entity in entities:
        items = entity.get("columns") or []
        if not items:
            fields = (entity.get("messageSchema") or {}).get("schemaFields") or []
            items = [c for f in fields for c in [f, *(f.get("children") or [])]]
        grade = max((g for c in items if (g := E.highest_grade(c.get("tags") or []))),
                    default=E.DEFAULT_GRADE)
        entity["tags"] = [t for t in entity["tags"] if not t["tagFQN"].startswith(E.GRADE_CLASSIFICATION + ".")]
        entity["tags"].append(E.tag(f"{E.GRADE_CLASSIFICATION}.{grade}", "Derived"))


def propagate_grades(tables: list[dict], edges: list[dict], manifest: dict[str, Any]) -> int:
    """Raise each warehouse column's ``DataGrade`` to the strictest grade among its inputs along the
    column lineage (:func:`citydata.circulation.grading.propagate`), tagged ``Propagated``. Grades a
    model declares stand: ``meta.grade`` (an owner's decision that a field is open) and
    ``meta.deidentified`` columns. Returns the number of columns raised."""
    from citydata.circulation.grading import deidentified_columns, load_grading, propagate

    policy = load_grading(Settings().circulation.policies_dir)
    declared: dict[str, set[str]] = deidentified_columns(manifest)
    seeds: dict[str, str] = {}
    columns: dict[str, dict] = {}
    for t in tables:
        for col in t.get("columns") or []:
            fqn = f"{t['fullyQualifiedName']}.{col['name']}"
            columns[fqn] = col
            grade = E.highest_grade(col.get("tags") or [])
            if grade:
                seeds[fqn] = grade
            if _declared_grade_only(col):
                declared.setdefault(relation(t), set()).add(col["name"])
    result = propagate({"lineage": {"edges": edges}}, seeds, policy, declared)
    raised = 0
    for fqn, found in result.items():
        col = columns.get(fqn)
        if col is None or found["deidentified"]:
            continue
        current = E.highest_grade(col.get("tags") or []) or policy.default_grade
        if found["grade"] > current:
            col["tags"] = [t for t in col.get("tags") or [] if not t["tagFQN"].startswith(E.GRADE_CLASSIFICATION + ".")]
            col["tags"].append(E.tag(f"{E.GRADE_CLASSIFICATION}.{found['grade']}", "Propagated"))
            raised += 1
    return raised


def _declared_grade_only(column: dict) -> bool:
    """A grade the model declares (``meta.grade``) with no classification behind it."""
    tags = column.get("tags") or []
    return bool(tags) and all(t["tagFQN"].startswith(E.GRADE_CLASSIFICATION + ".") and t["labelType"] == "Manual"
                              for t in tags)


def _column_sources(manifest: dict[str, Any], tables: list[dict],
                    table_columns: dict[str, list[tuple[str, str]]] | None) -> dict:
    """Models' column sources traced in their compiled SQL (manifests from ``dbt build``)."""
    if not any(n.get("compiled_code") for n in (manifest.get("nodes") or {}).values()):
        return {}
    from citydata.catalog.sql_lineage import model_column_sources

    relations: dict[str, list[str]] = {}
    for t in tables:
        if t["service"]["name"] == E.WAREHOUSE_SERVICE:
            relations[relation(t)] = [c["name"] for c in t["columns"]]
            if t["extension"].get("currentView"):  # what dbt sources read
                relations[t["extension"]["currentView"]] = relations[relation(t)]
    relations.update({rel: [c for c, _ in cols] for rel, cols in (table_columns or {}).items()})
    return model_column_sources(manifest, relations)


def build_catalog(connectors: list[ConnectorConfig], manifest_path: Path | None = None,
                  gate_results: dict | None = None, row_counts: dict | None = None,
                  *, table_columns: dict[str, list[tuple[str, str]]] | None = None,
                  validate: bool = False) -> dict[str, Any]:
    """Assemble the catalog.

    ``table_columns`` (``{"<schema>.<table>": [(column, sql_type), …]}``, e.g. from
    :func:`citydata.catalog.introspect.warehouse_columns`) types the dbt models' columns, which a
    manifest only lists when documented. ``validate=True`` checks every column against
    OpenMetadata's ``Column`` model (importing ``metadata`` costs ~10 s, so it is off by default).
    """
    now = datetime.now(UTC)
    teams: dict[str, dict] = {}
    tables: list[dict] = []
    topics: list[dict] = []
    edges: list[dict] = []
    connector_department: dict[str, str] = {}
    for c in connectors:
        d = c.department
        teams.setdefault(d.code, E.team(d.code, d.name_zh, d.name_en))
        connector_department[c.name] = d.code
        t, tp, e = _connector_entities(c, E.team_ref(teams[d.code]))
        tables += t
        topics += tp
        edges += e
    teams[E.BUREAU_TEAM] = E.team(E.BUREAU_TEAM, "市大数据中心", "City Big Data Center")
    manifest: dict[str, Any] = {}
    if manifest_path is not None:
        try:
            manifest = json.loads(Path(manifest_path).read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise CityDataError(f"dbt manifest {manifest_path} not found: run `dbt parse` or `make demo` first") from None
        except json.JSONDecodeError as exc:
            raise CityDataError(f"dbt manifest {manifest_path} is not valid JSON ({exc.msg}): rebuild it with `dbt parse`") from None
        m_tables, m_edges = manifest_entities(manifest, tables, teams, connector_department)
        tables += m_tables
        edges += m_edges
    apply_columns(tables, table_columns)
    enrich(tables, edges)
    apply_grades(tables + topics)
    attach_column_lineage(tables + topics, edges, _column_sources(manifest, tables, table_columns))
    propagate_grades(tables, edges, manifest)
    apply_grades(tables + topics)  # again: tables take the highest grade their columns now have
    quality = attach_quality(tables, gate_results, row_counts, int(now.timestamp() * 1000))
    catalog = {
        "catalogVersion": CATALOG_VERSION, "generatedAt": now.isoformat(timespec="seconds"),
        "services": _services(), "teams": list(teams.values()), "tables": tables,
        "topics": topics, "lineage": {"edges": edges}, "quality": quality,
    }
    if validate:
        from citydata.catalog.om import validate_catalog
        validate_catalog(catalog)
    return catalog
