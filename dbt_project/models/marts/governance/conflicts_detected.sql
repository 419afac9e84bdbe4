-- Every problem the platform finds in this run (问题发现), one row per conflict, in the shape the
-- feedback loop (governance.conflicts) remembers across runs.
with

household_conflicts as (select * from {{ ref('household_conflicts') }}),
invalid_identifiers as (select * from {{ ref('invalid_identifiers') }}),
legal_reps_missing as (select * from {{ ref('legal_reps_missing_from_population') }}),
identifiers as (select * from {{ ref('int_person_identifiers_unioned') }}),
persons as (select * from {{ ref('persons') }}),
enrolments as (select * from {{ ref('stg_hrss__enrolments') }}),
legal_entities as (select * from {{ ref('legal_entities') }}),

detected as (
    select
        'deceased_but_registered_active' as conflict_type,
        'public_security__persons:' || cast(person_record_id as varchar(32)) as conflict_key,
        person_id as subject,
        how_to_fix as details,
        department_to_fix
    from household_conflicts
    union all
    select 'invalid_identifier', invalid_identifier_id, coalesce(value_as_recorded, ''),
        identifier_type || ' in ' || invalid_identifier_id || ' is not valid: ' || invalid_reason, department_to_fix
    from invalid_identifiers
    union all
    select 'legal_rep_missing_from_population', 'market_regulation__enterprises:' || cast(enterprise_id as varchar(32)),
        coalesce(legal_entity_id, legal_rep_id_number_as_recorded, ''),
        coalesce(enterprise_name, '') || ': legal representative ' || coalesce(legal_rep_name, '') || ' — ' || problem,
        department_to_fix
    from legal_reps_missing
    union all
    select 'id_number_with_different_names',
        identifiers.source_table || '.' || identifiers.source_column || ':' || identifiers.source_record_id,
        identifiers.id_number,
        identifiers.source_table || ' records the name ' || identifiers.person_name
            || '; the population library (一数一源) has ' || persons.name,
        identifiers.source
    from identifiers
    inner join persons on identifiers.id_number = persons.person_id
    where identifiers.is_valid and identifiers.person_name <> persons.name
    union all
    select 'cancelled_enterprise_still_insuring', 'hrss__enrolments:' || cast(enrolments.enrolment_id as varchar(32)),
        legal_entities.legal_entity_id,
        'enrolment ' || cast(enrolments.enrolment_id as varchar(32)) || ' (' || coalesce(enrolments.insurance_type, '')
            || ') is active with employer ' || coalesce(legal_entities.name, '')
            || ', which market regulation registers as cancelled',
        'hrss'
    from enrolments
    inner join legal_entities on enrolments.employer_uscc = legal_entities.legal_entity_id
    where enrolments.enrolment_status = 'active' and legal_entities.status = 'cancelled'
),

final as (
    select
        {{ dbt.hash("conflict_type || '|' || conflict_key") }} as conflict_id,
        conflict_type,
        conflict_key,
        subject,
        details,
        department_to_fix
    from detected
)

select * from final
