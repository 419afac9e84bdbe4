-- Feedback to departments (问题回流): one row per entity occurrence that entity resolution could not
-- tie to exactly one legal entity — a broken or missing USCC with no usable name and registration
-- number, several registrations that fit, or a valid USCC the library does not know.
with

resolved as (select * from {{ ref('int_entity_occurrences_resolved') }}),

final as (
    select
        entity_occurrence_id,
        source,
        source_table,
        source_column,
        source_record_id,
        role,
        uscc_as_recorded,
        entity_name,
        registration_number,
        unresolved_reason as problem,
        candidate_count,
        source as department_to_fix
    from resolved
    where match_method = 'unresolved'
)

select * from final
