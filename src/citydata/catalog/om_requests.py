"""The catalog as OpenMetadata API requests: an ordered list of openmetadata-ingestion's
generated request models, each with the method and path the client sends it to.

Order (each request only refers to what an earlier one created): teams → classifications → tags →
services (database, messaging) → databases → schemas → tables → topics → test definitions → test
suites → test cases → test case results → lineage.

References to other entities carry the catalog's own ids (``entity_id``: stable UUIDs per FQN)
plus their type and FQN; OpenMetadata assigns its own ids, so the publisher swaps them in by
(type, FQN) before sending (:func:`citydata.catalog.om_publish.publish`).

Importing ``metadata`` takes ~10 s, so the models are imported inside :func:`build_requests`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import quote

from citydata.catalog import entities as E

SYSTEM_CLASSIFICATIONS = {"PII", "Tier", "Certification"}  # shipped with every OpenMetadata server

_CLASSIFICATIONS = {  # name: (display name, description, mutually exclusive)
    E.GRADE_CLASSIFICATION: ("数据分级", E.bilingual(
        "数据分级：按泄露后的危害程度分为 L1 公开、L2 内部、L3 敏感、L4 高敏感。",
        "Data grades: L1 public, L2 internal, L3 sensitive, L4 highly sensitive, by the harm a leak "
        "would do."), True),
    "DataClassification": ("数据分类", E.bilingual(
        "数据分类：字段承载的数据类别（来自连接器定义，沿血缘传播）。",
        "What kind of data a column holds (declared in the connectors, propagated along lineage)."), False),
    "Layer": ("数据分层", E.bilingual(
        "数据分层：源系统、消息主题、原始层、标准化层、中间层、主题库、参考数据。",
        "Where a dataset sits: source, topic, raw, staging, intermediate, mart, seed."), True),
    "BaseLibrary": ("基础库", E.bilingual(
        "基础库：人口、法人、信用、治理等。", "The base library a mart belongs to."), True),
}


@dataclass(frozen=True)
class OMRequest:
    """One request: ``key`` identifies it across runs (the publish state), ``entity_type`` and
    ``fqn`` name what it creates (None for lineage and results)."""

    key: str
    method: str
    path: str
    model: Any  # a generated pydantic model
    entity_type: str | None = None
    fqn: str | None = None

    def body(self) -> dict[str, Any]:
        return json.loads(self.model.model_dump_json(exclude_none=True, by_alias=True))


def _text(value: str | None) -> str | None:
    return value or None


def _owners(entity: dict[str, Any]) -> list[dict] | None:
    owners = [{"id": o["id"], "type": "team", "name": o["name"], "fullyQualifiedName": o["name"]}
              for o in entity.get("owners") or []]
    return owners or None


def _ref(entity: dict[str, Any]) -> dict[str, Any]:
    return {"id": entity["id"], "type": entity["entityType"], "name": entity["name"],
            "fullyQualifiedName": entity["fullyQualifiedName"]}


def _used_tags(catalog: dict[str, Any]) -> list[str]:
    """Every tag FQN the catalog applies (tables, topics, columns, topic fields), in order."""
    seen: dict[str, None] = {}

    def take(labels: list[dict] | None) -> None:
        for t in labels or []:
            seen.setdefault(t["tagFQN"], None)

    def fields(items: list[dict]) -> None:
        for f in items:
            take(f.get("tags"))
            fields(f.get("children") or [])

    for entity in [*(catalog.get("tables") or []), *(catalog.get("topics") or [])]:
        take(entity.get("tags"))
        fields(entity.get("columns") or [])
        fields((entity.get("messageSchema") or {}).get("schemaFields") or [])
    return list(seen)


def _tag_text(classification: str, name: str) -> tuple[str | None, str]:
    """(display name, description) of a tag."""
    if classification == E.GRADE_CLASSIFICATION and name in E.GRADES:
        zh, en = E.GRADES[name]
        return f"{name} {zh}", E.bilingual(zh, en)
    if classification == "DataClassification" and name in E.CLASSIFICATIONS:
        zh, en, grade = E.CLASSIFICATIONS[name]
        return zh, E.bilingual(f"{zh}（{grade}）", f"{en} (grade {grade})")
    labels = {"Layer": E.LAYER_LABELS, "BaseLibrary": E.LIBRARY_LABELS}.get(classification, {})
    if name in labels:
        zh, en = labels[name]
        return zh, E.bilingual(zh, en)
    return None, name


@dataclass(frozen=True)
class _Case:
    name: str
    column: str | None  # None: the case is on the table
    definition: str
    expectation: dict


def _test_cases(table: dict[str, Any]) -> list[_Case]:
    """One test case per gate expectation on a table, names unique. A column expectation whose
    column the table does not have (the gate reports it missing) becomes a table-level case of
    the definition ``<expectation>__on_table``."""
    out: list[_Case] = []
    taken: set[str] = set()
    columns = {c["name"] for c in table.get("columns") or []}
    for exp in ((table.get("extension") or {}).get("gate") or {}).get("expectations") or []:
        column = exp.get("column")
        base = f"{column or 'table'}__{exp['expectation']}"
        name, n = base, 1
        while name in taken:
            n += 1
            name = f"{base}_{n}"
        taken.add(name)
        on_column = column if column in columns else None
        definition = exp["expectation"] if on_column or not column else f"{exp['expectation']}__on_table"
        out.append(_Case(name, on_column, definition, exp))
    return out


def _test_case_fqn(table_fqn: str, column: str | None, name: str) -> str:
    return E.column_fqn(table_fqn, *([column] if column else []), name)


def _timestamp_ms(catalog: dict[str, Any]) -> int:
    """When the gate ran: the catalog's build time (never now(), so re-publishing is idempotent)."""
    stamp = (catalog.get("quality") or {}).get("checkedAt") or catalog["generatedAt"]
    return int(datetime.fromisoformat(stamp).timestamp() * 1000)


def _models() -> dict[str, type]:
    """The generated request models used here, by class name (importing them takes ~10 s)."""
    from metadata.generated.schema.api.classification.createClassification import CreateClassificationRequest
    from metadata.generated.schema.api.classification.createTag import CreateTagRequest
    from metadata.generated.schema.api.data.createDatabase import CreateDatabaseRequest
    from metadata.generated.schema.api.data.createDatabaseSchema import CreateDatabaseSchemaRequest
    from metadata.generated.schema.api.data.createTable import CreateTableRequest
    from metadata.generated.schema.api.data.createTopic import CreateTopicRequest
    from metadata.generated.schema.api.lineage.addLineage import AddLineageRequest
    from metadata.generated.schema.api.services.createDatabaseService import CreateDatabaseServiceRequest
    from metadata.generated.schema.api.services.createMessagingService import CreateMessagingServiceRequest
    from metadata.generated.schema.api.teams.createTeam import CreateTeamRequest
    from metadata.generated.schema.api.tests.createTestCase import CreateTestCaseRequest
    from metadata.generated.schema.api.tests.createTestDefinition import CreateTestDefinitionRequest
    from metadata.generated.schema.api.tests.createTestSuite import CreateTestSuiteRequest
    from metadata.generated.schema.tests.basic import TestCaseResult

    classes = (CreateClassificationRequest, CreateTagRequest, CreateDatabaseRequest, CreateDatabaseSchemaRequest,
               CreateTableRequest, CreateTopicRequest, AddLineageRequest, CreateDatabaseServiceRequest,
               CreateMessagingServiceRequest, CreateTeamRequest, CreateTestCaseRequest, CreateTestDefinitionRequest,
               CreateTestSuiteRequest, TestCaseResult)
    return {cls.__name__: cls for cls in classes}


class _Plan:
    """The requests so far; each body validated as its generated model on the way in."""

    def __init__(self) -> None:
        from metadata.ingestion.ometa.routes import ROUTES

        self.routes, self.models = ROUTES, _models()
        self.requests: list[OMRequest] = []

    def add(self, key: str, method: str, model: str, data: dict[str, Any], *, path_suffix: str = "",
            entity_type: str | None = None, fqn: str | None = None) -> None:
        self.requests.append(OMRequest(key, method, self.routes[model] + path_suffix,
                                       self.models[model].model_validate(data), entity_type, fqn))

    def put(self, model: str, data: dict[str, Any], entity_type: str, fqn: str, path_suffix: str = "") -> None:
        """A create-or-update of the entity ``entity_type`` named ``fqn``."""
        self.add(f"{entity_type}:{fqn}", "PUT", model, data, path_suffix=path_suffix,
                 entity_type=entity_type, fqn=fqn)


def build_requests(catalog: dict[str, Any], *, partitions: int = 3) -> list[OMRequest]:
    """All requests that publish ``catalog``, in dependency order, as validated generated models.
    ``partitions``: the Kafka topics' partition count (OpenMetadata requires one)."""
    plan = _Plan()
    _directory(plan, catalog)
    _assets(plan, catalog, partitions)
    _quality(plan, catalog)
    _lineage(plan, catalog)
    return plan.requests


def _directory(plan: _Plan, catalog: dict[str, Any]) -> None:
    """Teams, classifications and tags, services, databases, schemas."""
    for team in catalog.get("teams") or []:
        plan.put("CreateTeamRequest", {"name": team["name"], "displayName": team.get("displayName"),
                                       "description": _text(team.get("description")), "teamType": "Department"},
                 "team", team["name"])
    tag_names = [t for t in _used_tags(catalog) if t.split(".", 1)[0] not in SYSTEM_CLASSIFICATIONS]
    for classification in dict.fromkeys(t.split(".", 1)[0] for t in tag_names):
        display, description, exclusive = _CLASSIFICATIONS.get(classification, (None, classification, False))
        plan.put("CreateClassificationRequest", {"name": classification, "displayName": display,
                                                 "description": description, "mutuallyExclusive": exclusive},
                 "classification", classification)
    for tag_fqn in tag_names:
        classification, name = tag_fqn.split(".", 1)
        display, description = _tag_text(classification, name)
        plan.put("CreateTagRequest", {"name": name, "classification": classification, "displayName": display,
                                      "description": description}, "tag", tag_fqn)
    for service in catalog.get("services") or []:
        model = "CreateMessagingServiceRequest" if service["type"] == "messagingService" else "CreateDatabaseServiceRequest"
        plan.put(model, {"name": service["name"], "serviceType": service["serviceType"],
                         "displayName": service.get("displayName"), "description": _text(service.get("description"))},
                 service["type"], service["name"])
    databases: dict[str, dict] = {}
    schemas: dict[str, dict] = {}
    for t in catalog.get("tables") or []:
        databases.setdefault(t["database"]["fullyQualifiedName"], t)
        schemas.setdefault(t["databaseSchema"]["fullyQualifiedName"], t)
    for db_fqn, t in databases.items():
        owners = _owners(t) if t["service"]["name"] == E.SOURCE_SERVICE else None  # a department's database
        plan.put("CreateDatabaseRequest", {"name": t["database"]["name"], "service": t["service"]["name"],
                                           "owners": owners}, "database", db_fqn)
    for schema_fqn, t in schemas.items():
        plan.put("CreateDatabaseSchemaRequest", {"name": t["databaseSchema"]["name"],
                                                 "database": t["database"]["fullyQualifiedName"]},
                 "databaseSchema", schema_fqn)


def _assets(plan: _Plan, catalog: dict[str, Any], partitions: int) -> None:
    """Tables with their columns, topics with their message schemas."""
    for t in catalog.get("tables") or []:
        plan.put("CreateTableRequest", {
            "name": t["name"], "displayName": t.get("displayName"), "description": _text(t.get("description")),
            "tableType": t.get("tableType") or "Regular", "columns": t["columns"],
            "databaseSchema": t["databaseSchema"]["fullyQualifiedName"], "owners": _owners(t),
            "tags": t.get("tags") or None}, "table", t["fullyQualifiedName"])
    for topic in catalog.get("topics") or []:
        schema = dict(topic.get("messageSchema") or {})
        schema.setdefault("schemaText", json.dumps(_json_schema(schema.get("schemaFields") or []),
                                                   ensure_ascii=False, sort_keys=True))
        plan.put("CreateTopicRequest", {
            "name": topic["name"], "displayName": topic.get("displayName"),
            "description": _text(topic.get("description")), "service": topic["service"]["name"],
            "partitions": partitions, "messageSchema": schema,
            "cleanupPolicies": topic.get("cleanupPolicies") or None, "owners": _owners(topic),
            "tags": topic.get("tags") or None}, "topic", topic["fullyQualifiedName"])


def _quality(plan: _Plan, catalog: dict[str, Any]) -> None:
    """The gate's expectations: test definitions, a test suite per checked table, test cases, results."""
    cases = {t["fullyQualifiedName"]: c for t in catalog.get("tables") or [] if (c := _test_cases(t))}
    definitions = {case.definition: "COLUMN" if case.column else "TABLE" for cs in cases.values() for case in cs}
    for name, entity_type in definitions.items():
        plan.put("CreateTestDefinitionRequest", {
            "name": name, "displayName": name, "entityType": entity_type, "testPlatforms": ["GreatExpectations"],
            "description": E.bilingual(f"Great Expectations 校验 `{name}`，由 citydata 质量门执行。",
                                       f"Great Expectations `{name}`, run by the citydata quality gate.")},
            "testDefinition", name)
    for table_fqn in cases:
        plan.put("CreateTestSuiteRequest", {"name": f"{table_fqn}.testSuite", "basicEntityReference": table_fqn},
                 "testSuite", f"{table_fqn}.testSuite", path_suffix="/executable")
    for table_fqn, table_cases in cases.items():
        for case in table_cases:
            link = f"<#E::table::{table_fqn}" + (f"::columns::{case.column}>" if case.column else ">")
            severity, dept = case.expectation.get("severity") or "block", case.expectation.get("department")
            plan.put("CreateTestCaseRequest", {
                "name": case.name, "entityLink": link, "testDefinition": case.definition,
                "description": E.bilingual(
                    f"严重级别 {severity}（block 不通过则不发布，warn 仅告警）" + (f"；整改部门 {dept}" if dept else ""),
                    f"Severity {severity} (block stops publication, warn only reports)"
                    + (f"; department to fix: {dept}" if dept else ""))},
                "testCase", _test_case_fqn(table_fqn, case.column, case.name))
    stamp = _timestamp_ms(catalog)
    for table_fqn, table_cases in cases.items():
        for case in table_cases:
            case_fqn = _test_case_fqn(table_fqn, case.column, case.name)
            plan.add(f"testCaseResult:{case_fqn}@{stamp}", "POST", "TestCaseResult", _result(case, stamp),
                     path_suffix=f"/{quote(case_fqn)}", fqn=case_fqn)


def _result(case: _Case, stamp: int) -> dict[str, Any]:
    exp = case.expectation
    failed = int(exp.get("unexpected_count") or 0)
    values = [{"name": "unexpectedCount", "value": str(failed)}]
    if exp.get("observed") is not None:
        values.append({"name": "observedValue", "value": str(exp["observed"])})
    return {"timestamp": stamp, "testCaseStatus": "Success" if exp.get("success") else "Failed",
            "result": f"{failed} unexpected value(s)" + (f": {exp['detail']}" if exp.get("detail") else ""),
            "testResultValue": values, **({"failedRows": failed} if case.column else {})}


def _lineage(plan: _Plan, catalog: dict[str, Any]) -> None:
    """One AddLineageRequest per edge, with its column lineage."""
    for edge in (catalog.get("lineage") or {}).get("edges") or []:
        details = dict(edge.get("lineageDetails") or {})
        up, down = edge["fromEntity"], edge["toEntity"]
        body = {"edge": {"fromEntity": _ref({**up, "entityType": up["type"]}),
                         "toEntity": _ref({**down, "entityType": down["type"]}),
                         "lineageDetails": {k: details[k] for k in ("source", "description", "columnsLineage")
                                            if details.get(k)}}}
        plan.add(f"lineage:{up['fullyQualifiedName']}->{down['fullyQualifiedName']}", "PUT", "AddLineageRequest", body)


_JSON_TYPES = {"STRING": "string", "LONG": "integer", "INT": "integer", "RECORD": "object",
               "BOOLEAN": "boolean", "DOUBLE": "number", "ARRAY": "array"}


def _json_schema(fields: list[dict]) -> dict[str, Any]:
    """A JSON Schema for the topic's message (fields as declared; images may be null)."""
    def one(field: dict) -> dict[str, Any]:
        out: dict[str, Any] = {"type": _JSON_TYPES.get(field["dataType"], "string")}
        if field.get("children"):
            out = {"type": ["object", "null"], "properties": {c["name"]: one(c) for c in field["children"]}}
        return out

    return {"$schema": "https://json-schema.org/draft/2020-12/schema", "type": "object",
            "properties": {f["name"]: one(f) for f in fields}}
