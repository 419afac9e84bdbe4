"""dbt build on the hand-made city: base-library counts match stdnum, and every planted defect is caught."""

from __future__ import annotations

import json

import handmade_city as city
import identifier_oracle as oracle


def test_build_passes_and_reports_every_node(handmade):
    result = handmade.result
    assert {"success", "pass"} <= set(result.counts)
    assert not {"error", "fail", "skipped"} & set(result.counts)
    kinds = {n.resource_type for n in result.nodes}
    assert {"model", "seed", "test", "unit_test"} <= kinds
    assert result.rows("persons") == len(oracle.valid_person_ids(handmade.frames))
    assert result.rows("gb2260_divisions") > 7000
    assert result.node("stg_public_security__persons").rows == len(handmade.frames[("public_security", "persons")])
    assert result.manifest_path.is_file() and result.run_results_path.is_file()
    manifest = json.loads(result.manifest_path.read_text())
    assert "model.citydata.persons" in manifest["nodes"]
    # the only warning: a court/NDRC person who is not in the city's population sources
    assert [n.name for n in result.warnings] == [
        "relationships_credit_profiles_subject_code__person_id__ref_persons_"]


def test_one_row_per_valid_normalised_id_number(handmade):
    ids = {r[0] for r in handmade.query("select person_id from population.persons")}
    assert ids == oracle.valid_person_ids(handmade.frames)
    assert city.ZHAO in ids                      # recorded as a 15-digit legacy number
    assert city.CHEN in ids                      # recorded with full-width digits and a lower-case x
    assert not {city.BAD_CHECK, city.BAD_AREA, city.FUTURE, city.OLD_AREA} & ids


def test_legal_entities_and_credit_profiles_match_stdnum(handmade):
    codes = {r[0] for r in handmade.query("select legal_entity_id from legal_entity.legal_entities")}
    assert codes == oracle.valid_entity_codes(handmade.frames)
    subjects = set(handmade.query("select subject_type, subject_code from credit.credit_profiles"))
    assert subjects == oracle.credit_subjects(handmade.frames)


def test_survivorship_and_life_events(handmade):
    rows = handmade.frame("select * from population.persons").set_index("person_id")
    zhang, wu, sun, baby = rows.loc[city.ZHANG], rows.loc[city.WU], rows.loc[city.SUN], rows.loc[city.BABY]
    assert (zhang["name"], zhang["name_source"]) == ("张伟", "public_security__persons")
    assert zhang["marital_status"] == "married" and zhang["employer_uscc"] == city.ACME
    assert zhang["mobile"] == "13800138000"
    assert rows.loc[city.LI, "name"] == "李娜"                       # trailing space trimmed
    assert wu["marital_status"] == "divorced" and wu["household_id"] == 106  # latest record wins
    assert (sun["name_source"], sun["gender_source"], sun["gender"]) == ("hrss__enrolments", "id_number", "male")
    assert pd_isna(sun["employer_uscc"])                                  # recorded USCC is invalid
    assert (baby["name"], baby["birth_date_source"]) == ("张小宝", "health__births")
    assert rows.loc[city.CHEN, "employer_uscc"] == city.GAMMA             # latest active enrolment
    assert bool(rows.loc[city.WANG, "is_deceased"]) and not bool(zhang["is_deceased"])


def test_household_conflict_for_public_security(handmade):
    conflicts = handmade.query(
        "select person_id, person_record_id, department_to_fix from governance.household_conflicts")
    assert conflicts == [(city.WANG, 3, "public_security")]


def test_invalid_identifiers_name_row_column_reason_and_department(handmade):
    found = set(handmade.query(
        "select source_table, source_column, source_record_id, invalid_reason, department_to_fix "
        "from governance.invalid_identifiers"))
    assert found == {
        ("public_security__persons", "id_number", "7", "wrong_check_char", "public_security"),
        ("public_security__persons", "id_number", "8", "unknown_area_code", "public_security"),
        ("public_security__households", "head_id_number", "105", "invalid_birth_date", "public_security"),
        ("civil_affairs__marriages", "husband_id_number", "4", "birth_date_in_future", "civil_affairs"),
        ("civil_affairs__marriages", "wife_id_number", "4", "unknown_area_code", "civil_affairs"),
        ("market_regulation__enterprises", "uscc", "4", "wrong_check_char", "market_regulation"),
        ("market_regulation__enterprises", "legal_rep_id_number", "4", "wrong_check_char", "market_regulation"),
        ("hrss__enrolments", "employer_uscc", "4", "wrong_check_char", "hrss"),
        ("court__dishonest_debtors", "subject_code", "3", "wrong_check_char", "court"),
    }


def test_legal_entities_link_legal_reps_and_feedback(handmade):
    entities = handmade.frame("select * from legal_entity.legal_entities").set_index("legal_entity_id")
    assert entities.loc[city.ACME, "tax_credit_rating"] == "A"        # latest rated year
    assert entities.loc[city.GAMMA, "name_source"] == "tax__taxpayers"
    assert bool(entities.loc[city.ACME, "has_legal_rep_in_population"])
    missing = set(handmade.query(
        "select enterprise_id, problem, department_to_fix from governance.legal_reps_missing_from_population"))
    assert missing == {(3, "not_in_household_register", "public_security"),
                       (4, "invalid_id_number", "market_regulation")}


def test_credit_visibility_uses_the_reference_date(handmade):
    visible = dict(handmade.query("select credit_record_id, is_publicly_visible from credit.credit_records"))
    assert visible["ndrc:1"] is False       # publicity ended 2026-01-10, before 2026-11-22
    assert visible["ndrc:2"] is True        # until 2027-06-01
    assert visible["court:2"] is False      # removed from the list
    profile = handmade.query(
        "select penalty_count, public_penalty_count, latest_tax_credit_rating from credit.credit_profiles "
        "where subject_code = ?", [city.ACME])
    assert profile == [(2, 1, "A")]


def pd_isna(value: object) -> bool:
    return value is None or value != value
