"""dbt build on the synthetic city (citydata.synth, 2,000 persons): counts match stdnum and expected.json."""

from __future__ import annotations

import identifier_oracle as oracle


def test_build_passes(synth):
    assert not {"error", "fail", "skipped"} & set(synth.result.counts)


def test_persons_are_the_distinct_valid_normalised_ids(synth, synth_city):
    ids = {r[0] for r in synth.query("select person_id from population.persons")}
    assert ids == oracle.valid_person_ids(synth.frames)
    assert len(ids) == synth_city.expected["population_persons"]


def test_legal_entities_are_the_distinct_valid_usccs(synth, synth_city):
    codes = {r[0] for r in synth.query("select legal_entity_id from legal_entity.legal_entities")}
    assert codes == oracle.valid_entity_codes(synth.frames)
    assert len(codes) == synth_city.expected["legal_entities"]


def test_credit_profiles_are_the_subjects_with_valid_codes(synth, synth_city):
    subjects = set(synth.query("select subject_type, subject_code from credit.credit_profiles"))
    assert subjects == oracle.credit_subjects(synth.frames)
    assert len(subjects) == synth_city.expected["credit_subjects"]


def test_household_conflicts_are_the_detectable_deceased_still_active(synth, synth_city):
    people = synth.scalar("select count(distinct person_id) from governance.household_conflicts")
    assert people == synth_city.expected["deceased_still_active_detectable"]


def test_invalid_identifiers_are_the_invalid_recorded_cells(synth, synth_city):
    truth = synth_city.truth
    bad = truth[~truth["valid"] & truth["recorded"].notna() & ~truth["deleted"]]
    expected = {(f"{c}__{t}", role, str(pk)) for c, t, role, pk in
                zip(bad["connector"], bad["table"], bad["role"], bad["pk"])}
    found = set(synth.query(
        "select source_table, source_column, source_record_id from governance.invalid_identifiers"))
    assert found == expected
