"""Address normalisation (macro normalise_address) on the synthetic city: spellings of one address
compare equal after staging, real conflicts stay conflicts."""

from __future__ import annotations


def _person_vs_household(synth) -> dict[int, tuple[bool, bool]]:
    rows = synth.query("""
        select p.person_record_id, p.address = h.address, p.address_as_recorded = h.address_as_recorded
        from staging.stg_public_security__persons as p
        inner join staging.stg_public_security__households as h using (household_id)
        where p.address is not null and h.address is not null""")
    return {int(pk): (same, same_recorded) for pk, same, same_recorded in rows}


def test_variants_compare_equal_and_conflicts_stay_conflicts(synth, synth_city):
    pairs = _person_vs_household(synth)
    log = synth_city.defects
    conflicts = set(log.loc[(log["table"] == "persons") & (log["defect_type"] == "address_conflict"), "pk"])
    differing = {pk for pk, (same, _) in pairs.items() if not same}
    assert differing == conflicts & set(pairs)
    assert len(differing) > 10
    # the synth's other spellings (full-width digits, 栋/幢, 单元, no 天津市, 室, spaces) were
    # different as recorded and are equal now
    variants = {pk for pk, (same, same_recorded) in pairs.items() if same and not same_recorded}
    spelt = set(log.loc[log["defect_type"] == "address_variant", "pk"])
    assert len(variants) > 20
    assert variants & spelt


def test_every_logged_variant_of_a_person_row_normalises_to_its_household(synth, synth_city):
    log = synth_city.defects
    variant_rows = set(log.loc[(log["table"] == "persons") & (log["defect_type"] == "address_variant"), "pk"])
    pairs = _person_vs_household(synth)
    checked = [pk for pk in variant_rows if pk in pairs]
    assert len(checked) > 10
    assert all(pairs[pk][0] for pk in checked)


def test_enterprise_addresses_keep_the_recorded_form_next_to_the_standard_one(synth):
    rows = synth.query("""
        select count(*), count(case when address_as_recorded like '天津市%' then 1 end),
            count(case when address like '天津%' then 1 end)
        from staging.stg_market_regulation__enterprises where address is not null""")
    total, with_city, still_prefixed = rows[0]
    assert total > 100 and with_city == total and still_prefixed == 0
