"""Entity building blocks in OpenMetadata's vocabulary: FQNs, references, columns, tags, owners.

Everything here returns plain dicts shaped like OpenMetadata's generated models
(``metadata.generated.schema.entity.data.table.Column``, ``type.entityReference.EntityReference``,
``type.tagLabel.TagLabel``), so the catalog JSON can be published to an OpenMetadata server as is.
"""

from __future__ import annotations

import functools
import re
import uuid
from typing import Any

from citydata.circulation.grading import GradingPolicy, load_grading
from citydata.settings import Settings

KAFKA_SERVICE = "kafka"
SOURCE_SERVICE = "departments"
WAREHOUSE_SERVICE = "warehouse"
WAREHOUSE_DATABASE = "citydata"
BUREAU_TEAM = "data_bureau"

LAYERS = ("source", "topic", "raw", "staging", "intermediate", "mart", "seed")
BASE_LIBRARIES = ("population", "legal_entity", "credit", "governance")
# (Chinese, English) names of layers and base libraries: OpenMetadata's Layer / BaseLibrary tags.
LAYER_LABELS: dict[str, tuple[str, str]] = {
    "source": ("部门源系统表", "Department source tables"),
    "topic": ("消息主题", "Kafka topics (change events)"),
    "raw": ("原始层", "Raw change logs"),
    "staging": ("标准层", "Staging (standardised)"),
    "intermediate": ("整合层", "Intermediate (matched, survived)"),
    "mart": ("基础库", "Base libraries (marts)"),
    "seed": ("参考数据", "Reference data (seeds)"),
}
LIBRARY_LABELS: dict[str, tuple[str, str]] = {
    "population": ("人口综合库", "Population library"),
    "legal_entity": ("法人综合库", "Legal-entity library"),
    "credit": ("信用信息库", "Credit library"),
    "governance": ("数据治理库", "Governance (issues for departments)"),
    "history": ("历史库", "History (type-2 periods)"),
}

# Data grades (数据分级), lowest to highest: OpenMetadata classification ``DataGrade``. The grades, the
# class → grade map and which classes are personal information are read from ``policies/grading.yaml``
# through :mod:`citydata.circulation.grading`, the same file masking and release use:
#   GRADES           {grade: (Chinese, English)}
#   DEFAULT_GRADE    the grade of a column nobody classified
#   CLASSIFICATIONS  {class: (Chinese label, English label, grade)}
#   PERSONAL_CLASSES classes that are personal information (tagged ``PII.Sensitive``)
# They are loaded on first use (module ``__getattr__``), not at import.
GRADE_CLASSIFICATION = "DataGrade"
_FROM_POLICY = ("GRADES", "DEFAULT_GRADE", "CLASSIFICATIONS", "PERSONAL_CLASSES")


@functools.cache
def _grading() -> GradingPolicy:
    return load_grading(Settings().circulation.policies_dir)


def __getattr__(name: str) -> Any:
    if name not in _FROM_POLICY:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    policy = _grading()
    return {
        "GRADES": {g: (text["zh"], text["en"]) for g, text in policy.grades.items()},
        "DEFAULT_GRADE": policy.default_grade,
        "CLASSIFICATIONS": {c: (p.zh, p.en, p.grade) for c, p in policy.classes.items()},
        "PERSONAL_CLASSES": frozenset(c for c, p in policy.classes.items() if p.personal != "none"),
    }[name]


_ID_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "urn:citydata:catalog")

_TYPES: dict[str, str] = {
    "bigint": "BIGINT", "int8": "BIGINT", "hugeint": "BIGINT", "integer": "INT", "int": "INT",
    "int4": "INT", "smallint": "SMALLINT", "int2": "SMALLINT", "tinyint": "TINYINT",
    "varchar": "VARCHAR", "character varying": "VARCHAR", "char": "CHAR", "character": "CHAR",
    "text": "TEXT", "string": "STRING", "date": "DATE", "time": "TIME",
    "timestamptz": "TIMESTAMPZ", "timestamp with time zone": "TIMESTAMPZ",
    "timestamp": "TIMESTAMP", "timestamp without time zone": "TIMESTAMP", "datetime": "DATETIME",
    "numeric": "NUMERIC", "decimal": "DECIMAL", "real": "FLOAT", "float": "FLOAT", "float4": "FLOAT",
    "double": "DOUBLE", "double precision": "DOUBLE", "float8": "DOUBLE", "boolean": "BOOLEAN",
    "bool": "BOOLEAN", "json": "JSON", "jsonb": "JSON", "uuid": "UUID", "bytea": "BYTEA",
    "blob": "BLOB", "interval": "INTERVAL",
}
_TYPE_RE = re.compile(r"^\s*([a-z][a-z0-9 _]*?)\s*(?:\(\s*(\d+)\s*(?:,\s*(\d+)\s*)?\))?\s*$")


def quote_name(name: str) -> str:
    """OpenMetadata's FQN quoting: a name containing ``.`` is wrapped in double quotes."""
    return f'"{name}"' if "." in name else name


def fqn(*parts: str) -> str:
    return ".".join(quote_name(p) for p in parts)


def split_fqn(value: str) -> list[str]:
    """Inverse of :func:`fqn`: split on dots outside double quotes, unquote."""
    return [p.strip('"') for p in re.findall(r'"[^"]*"|[^.]+', value)]


def entity_id(full_name: str) -> str:
    """A stable UUID per FQN, so re-runs and OpenMetadata publishing agree on ids."""
    return str(uuid.uuid5(_ID_NAMESPACE, full_name))


def topic_fqn(topic: str) -> str:
    return fqn(KAFKA_SERVICE, topic)


def source_table_fqn(connector: str, schema: str, table: str) -> str:
    return fqn(SOURCE_SERVICE, connector, schema, table)


def warehouse_fqn(schema: str, table: str) -> str:
    return fqn(WAREHOUSE_SERVICE, WAREHOUSE_DATABASE, schema, table)


def reference(entity: dict[str, Any]) -> dict[str, Any]:
    """An ``EntityReference`` to a table or topic entity."""
    return {"id": entity["id"], "type": entity["entityType"], "name": entity["name"],
            "fullyQualifiedName": entity["fullyQualifiedName"],
            "displayName": entity.get("displayName") or entity["name"]}


def team_ref(team: dict[str, Any]) -> dict[str, Any]:
    return {"id": team["id"], "type": "team", "name": team["name"],
            "displayName": team.get("displayName") or team["name"]}


def team(name: str, name_zh: str, name_en: str) -> dict[str, Any]:
    """A ``Team`` of type Department: a department (or the bureau) that owns data."""
    return {"id": entity_id(f"team:{name}"), "name": name, "displayName": name_zh,
            "description": name_en, "teamType": "Department"}


def tag(tag_fqn: str, label_type: str = "Manual", description: str | None = None) -> dict[str, Any]:
    """A ``TagLabel``."""
    label: dict[str, Any] = {"tagFQN": tag_fqn, "source": "Classification",
                             "labelType": label_type, "state": "Confirmed"}
    if description:
        label["description"] = description
    return label


def grade_of(classification: str) -> str:
    """The data grade (``L1``…``L4``) of a column classification; classes the policy lacks get its default."""
    policy = _grading()
    cls = policy.classes.get(classification)
    return cls.grade if cls else policy.default_grade


def classification_tags(classification: str | None, label_type: str = "Manual") -> list[dict]:
    """Column tags for a connector classification: ``DataClassification.<c>``, its grade
    ``DataGrade.L<n>`` (+ ``PII.Sensitive`` for personal information)."""
    if not classification:
        return []
    tags = [tag(f"DataClassification.{classification}", label_type),
            tag(f"{GRADE_CLASSIFICATION}.{grade_of(classification)}", label_type)]
    cls = _grading().classes.get(classification)
    if cls is not None and cls.personal != "none":
        tags.append(tag("PII.Sensitive", label_type))
    return tags


def highest_grade(tags: list[dict]) -> str | None:
    """The highest ``DataGrade`` among tag labels, or None."""
    found = [t["tagFQN"].split(".", 1)[1] for t in tags
             if t["tagFQN"].startswith(GRADE_CLASSIFICATION + ".")]
    return max(found) if found else None


def bilingual(zh: str | None, en: str | None) -> str:
    """One OpenMetadata description in both languages: Chinese first, then English."""
    parts = [p.strip() for p in (zh, en) if p and p.strip()]
    return "\n\n".join(dict.fromkeys(parts))


def column_fqn(entity_fqn: str, *path: str) -> str:
    """A column's (or topic schema field's) FQN: the entity's FQN plus the column path."""
    return fqn(*split_fqn(entity_fqn), *path)


def column(name: str, type_text: str | None, *, description: str = "", position: int | None = None,
           tags: list[dict] | None = None, primary_key: bool = False) -> dict[str, Any]:
    """A ``Column`` dict: OM ``dataType`` from the SQL type text, the original in ``dataTypeDisplay``."""
    text = (type_text or "").strip().lower()
    col: dict[str, Any] = {"name": name, "dataType": "UNKNOWN", "dataTypeDisplay": type_text or ""}
    match = _TYPE_RE.match(text)
    if match:
        base, first, second = match.groups()
        col["dataType"] = _TYPES.get(base, "UNKNOWN")
        if first and col["dataType"] in ("VARCHAR", "CHAR"):
            col["dataLength"] = int(first)
        elif first and col["dataType"] in ("NUMERIC", "DECIMAL"):
            col["precision"] = int(first)
            col["scale"] = int(second or 0)
    if col["dataType"] in ("VARCHAR", "CHAR") and "dataLength" not in col:
        col["dataLength"] = 1  # OpenMetadata requires a length; ingestion uses 1 when unknown
    if description:
        col["description"] = description
    col["tags"] = list(tags or [])
    if primary_key:
        col["constraint"] = "PRIMARY_KEY"
    if position is not None:
        col["ordinalPosition"] = position
    return col


def table_entity(full_name: str, *, kind: str, description: str = "", display_name: str = "",
                 columns: list[dict] | None = None, owner: dict | None = None,
                 table_type: str = "Regular", extension: dict | None = None) -> dict[str, Any]:
    """A ``Table`` entity. citydata-specific properties live in ``extension`` (OM custom properties)."""
    service, database, schema, name = split_fqn(full_name)
    ext = {"layer": kind, **(extension or {})}
    tags = [tag(f"Layer.{kind}")]
    if ext.get("baseLibrary"):
        tags.append(tag(f"BaseLibrary.{ext['baseLibrary']}"))
    return {
        "id": entity_id(full_name), "entityType": "table", "name": name,
        "fullyQualifiedName": full_name, "displayName": display_name or name,
        "description": description, "tableType": table_type,
        "service": {"type": "databaseService", "name": service},
        "database": {"type": "database", "name": database, "fullyQualifiedName": fqn(service, database)},
        "databaseSchema": {"type": "databaseSchema", "name": schema,
                           "fullyQualifiedName": fqn(service, database, schema)},
        "columns": list(columns or []), "owners": [owner] if owner else [], "tags": tags,
        "extension": ext,
    }


def topic_entity(topic: str, *, description: str = "", display_name: str = "",
                 owner: dict | None = None, schema_fields: list[dict] | None = None,
                 extension: dict | None = None) -> dict[str, Any]:
    """A ``Topic`` entity with a JSON ``messageSchema`` (Debezium-style envelope)."""
    full_name = topic_fqn(topic)
    return {
        "id": entity_id(full_name), "entityType": "topic", "name": topic,
        "fullyQualifiedName": full_name, "displayName": display_name or topic,
        "description": description, "service": {"type": "messagingService", "name": KAFKA_SERVICE},
        "messageSchema": {"schemaType": "JSON", "schemaFields": list(schema_fields or [])},
        "cleanupPolicies": ["delete"], "owners": [owner] if owner else [],
        "tags": [tag("Layer.topic")], "extension": {"layer": "topic", **(extension or {})},
    }


def edge(from_entity: dict, to_entity: dict, source: str, description: str = "") -> dict[str, Any]:
    """An ``EntitiesEdge`` with ``lineageDetails.source`` (PipelineLineage, DbtLineage, …)."""
    details: dict[str, Any] = {"source": source}
    if description:
        details["description"] = description
    return {"fromEntity": reference(from_entity), "toEntity": reference(to_entity),
            "lineageDetails": details}
