"""The catalog as OpenMetadata requests: generated models, their order, what they carry."""

from __future__ import annotations

import copy
import json
from datetime import datetime

import pytest

from citydata.catalog.om_requests import OMRequest, build_requests

MART = "warehouse.citydata.marts.population_persons"
SOURCE = "departments.civil_affairs.civil.deaths"
TOPIC = 'kafka."civil_affairs.civil.deaths"'
RAW = "warehouse.citydata.raw.civil_affairs__deaths"
ORDER = ["team", "classification", "tag", "messagingService", "databaseService", "database", "databaseSchema",
         "table", "topic", "testDefinition", "testSuite", "testCase", "testCaseResult", "lineage"]


@pytest.fixture(scope="module")
def requests(catalog: dict) -> list[OMRequest]:
    return build_requests(catalog, partitions=3)


def _one(requests: list[OMRequest], key: str) -> dict:
    return next(r for r in requests if r.key == key).body()


def test_every_payload_validates_against_its_generated_model(requests: list[OMRequest]) -> None:
    from metadata.ingestion.ometa.routes import ROUTES

    names = set()
    for r in requests:
        model_cls = type(r.model)
        assert model_cls.__module__.startswith("metadata.generated.schema."), r.key
        assert model_cls.model_validate(r.body()) == r.model, r.key  # the JSON sent is the model
        assert r.path.startswith(ROUTES[model_cls.__name__]), r.key
        names.add(model_cls.__name__)
    assert names == {
        "CreateTeamRequest", "CreateClassificationRequest", "CreateTagRequest", "CreateMessagingServiceRequest",
        "CreateDatabaseServiceRequest", "CreateDatabaseRequest", "CreateDatabaseSchemaRequest",
        "CreateTableRequest", "CreateTopicRequest", "CreateTestDefinitionRequest", "CreateTestSuiteRequest",
        "CreateTestCaseRequest", "TestCaseResult", "AddLineageRequest"}
    assert len({r.key for r in requests}) == len(requests)


def test_requests_come_in_dependency_order(requests: list[OMRequest], catalog: dict) -> None:
    kinds = [r.key.split(":", 1)[0] for r in requests]
    assert kinds == sorted(kinds, key=ORDER.index)
    assert kinds.count("table") == len(catalog["tables"]) and kinds.count("topic") == len(catalog["topics"])
    assert kinds.count("lineage") == len(catalog["lineage"]["edges"])
    assert kinds.count("team") == len(catalog["teams"])


def test_tables_carry_owner_bilingual_descriptions_and_grades(requests: list[OMRequest]) -> None:
    mart = _one(requests, f"table:{MART}")
    assert mart["databaseSchema"] == "warehouse.citydata.marts"
    assert [(o["type"], o["fullyQualifiedName"]) for o in mart["owners"]] == [("team", "data_bureau")]
    assert mart["description"] == "人口综合库：一人一行\n\nThe population library: one row per natural person."
    cols = {c["name"]: c for c in mart["columns"]}
    assert cols["id_number"]["description"] == "公民身份号码（18位）\n\n18-digit resident ID"
    assert {t["tagFQN"] for t in cols["id_number"]["tags"]} == {
        "DataClassification.resident_id", "DataGrade.L4", "PII.Sensitive"}
    assert {t["tagFQN"] for t in mart["tags"]} == {"Layer.mart", "BaseLibrary.population", "DataGrade.L4"}
    source = _one(requests, f"table:{SOURCE}")
    assert [o["fullyQualifiedName"] for o in source["owners"]] == ["civil_affairs"]
    assert source["description"].startswith("死亡登记信息\n\nDeath registrations")


def test_grades_classifications_and_tags_are_created(requests: list[OMRequest]) -> None:
    grade = _one(requests, "classification:DataGrade")
    assert grade["mutuallyExclusive"] is True and "L4" in grade["description"]
    tags = {r.fqn: r.body() for r in requests if r.entity_type == "tag"}
    assert tags["DataGrade.L4"]["classification"] == "DataGrade" and tags["DataGrade.L4"]["displayName"] == "L4 高敏感"
    assert tags["DataClassification.resident_id"]["displayName"] == "公民身份号码"
    assert "PII.Sensitive" not in tags  # OpenMetadata ships the PII classification
    used = {t["tagFQN"] for r in requests if r.entity_type in ("table", "topic")
            for t in r.body().get("tags") or []}
    assert used - {"PII.Sensitive"} <= set(tags)


def test_services_databases_schemas(requests: list[OMRequest]) -> None:
    assert _one(requests, "messagingService:kafka")["serviceType"] == "Kafka"
    assert _one(requests, "databaseService:warehouse")["serviceType"] == "CustomDatabase"
    assert _one(requests, "databaseService:departments")["serviceType"] == "Postgres"
    assert _one(requests, "database:departments.civil_affairs")["owners"][0]["fullyQualifiedName"] == "civil_affairs"
    assert _one(requests, "databaseSchema:warehouse.citydata.raw")["database"] == "warehouse.citydata"


def test_topics_carry_their_message_schema(requests: list[OMRequest]) -> None:
    topic = _one(requests, f"topic:{TOPIC}")
    assert topic["service"] == "kafka" and topic["partitions"] == 3
    schema = topic["messageSchema"]
    assert schema["schemaType"] == "JSON"
    assert [f["name"] for f in schema["schemaFields"]] == ["before", "after", "source", "op", "ts_ms"]
    after = next(f for f in schema["schemaFields"] if f["name"] == "after")
    id_number = next(c for c in after["children"] if c["name"] == "id_number")
    assert "DataGrade.L4" in {t["tagFQN"] for t in id_number["tags"]}
    text = json.loads(schema["schemaText"])
    assert set(text["properties"]["after"]["properties"]) == {c["name"] for c in after["children"]}
    assert {"tagFQN": "DataGrade.L4"}.items() <= topic["tags"][-1].items()


def test_lineage_requests_carry_column_lineage(requests: list[OMRequest]) -> None:
    edge = _one(requests, f"lineage:{TOPIC}->{RAW}")["edge"]
    assert (edge["fromEntity"]["type"], edge["toEntity"]["type"]) == ("topic", "table")
    details = edge["lineageDetails"]
    assert details["source"] == "PipelineLineage"
    pairs = {(c["fromColumns"][0], c["toColumn"]) for c in details["columnsLineage"]}
    assert (f"{TOPIC}.after.id_number", f"{RAW}.id_number") in pairs
    assert (f"{TOPIC}.op", f"{RAW}._op") in pairs
    dbt = _one(requests, f"lineage:warehouse.citydata.intermediate.int_persons__matched->{MART}")["edge"]
    assert dbt["lineageDetails"]["source"] == "DbtLineage"
    assert {c["toColumn"] for c in dbt["lineageDetails"]["columnsLineage"]} >= {f"{MART}.id_number", f"{MART}.name"}


def test_quality_results_become_test_cases_and_results(requests: list[OMRequest], catalog: dict) -> None:
    definitions = {r.fqn: r.body() for r in requests if r.entity_type == "testDefinition"}
    assert definitions["expect_column_values_to_match_regex"]["entityType"] == "COLUMN"
    assert definitions["expect_table_row_count_to_be_between"]["entityType"] == "TABLE"
    assert definitions["expect_column_values_to_be_unique"]["testPlatforms"] == ["GreatExpectations"]
    credit = "warehouse.citydata.marts.credit_profiles"
    suite = _one(requests, f"testSuite:{credit}.testSuite")
    assert suite["basicEntityReference"] == credit
    case_fqn = f"{credit}.subject_code.subject_code__expect_column_values_to_match_regex"
    case = _one(requests, f"testCase:{case_fqn}")
    assert case["entityLink"] == f"<#E::table::{credit}::columns::subject_code>"
    assert case["testDefinition"] == "expect_column_values_to_match_regex"
    result_request = next(r for r in requests if r.key.startswith(f"testCaseResult:{case_fqn}@"))
    assert result_request.method == "POST" and result_request.path.endswith(
        "credit_profiles.subject_code.subject_code__expect_column_values_to_match_regex")
    result = result_request.body()
    assert result["testCaseStatus"] == "Failed" and result["failedRows"] == 7
    assert result["testResultValue"][0] == {"name": "unexpectedCount", "value": "7"}
    assert result["timestamp"] == int(datetime.fromisoformat(catalog["generatedAt"]).timestamp() * 1000)
    table_case = _one(requests, f"testCase:{credit}.table__expect_table_row_count_to_be_between")
    assert table_case["entityLink"] == f"<#E::table::{credit}>"


def test_expectation_on_a_missing_column_is_recorded_on_the_table(catalog: dict) -> None:
    changed = copy.deepcopy(catalog)
    credit = next(t for t in changed["tables"] if t["name"] == "credit_profiles")
    credit["extension"]["gate"]["expectations"].append(
        {"expectation": "expect_column_values_to_match_regex", "column": "gone", "success": False,
         "unexpected_count": 0, "severity": "block", "detail": "column 'gone' is missing"})
    requests = build_requests(changed)
    fqn = f"{credit['fullyQualifiedName']}.gone__expect_column_values_to_match_regex"
    case = _one(requests, f"testCase:{fqn}")
    assert case["entityLink"] == f"<#E::table::{credit['fullyQualifiedName']}>"
    assert case["testDefinition"] == "expect_column_values_to_match_regex__on_table"
    assert _one(requests, "testDefinition:expect_column_values_to_match_regex__on_table")["entityType"] == "TABLE"
    assert _one(requests, "testDefinition:expect_column_values_to_match_regex")["entityType"] == "COLUMN"
