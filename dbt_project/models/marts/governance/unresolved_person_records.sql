-- Feedback to departments (问题回流): one row per population-source person record without a usable
-- ID number that entity resolution could not tie to one person — no candidate, best score below
-- the threshold, or two candidates too close to call — with the best guess for the steward.
with

resolved as (select * from {{ ref('int_person_records_resolved') }}),
records as (select * from {{ ref('int_person_records_unioned') }}),

unresolved as (
    select resolved.*
    from resolved
    where resolved.resolved_person_id is null
),

final as (
    select
        unresolved.person_record_id,
        unresolved.source,
        unresolved.source_table,
        unresolved.source_column,
        unresolved.source_record_id,
        unresolved.role,
        unresolved.resolution_status as problem,
        records.id_number_invalid_reason,
        records.person_name,
        records.birth_date,
        unresolved.candidate_count,
        unresolved.best_candidate_person_id,
        unresolved.best_candidate_score,
        unresolved.runner_up_score,
        unresolved.source as department_to_fix
    from unresolved
    inner join records on unresolved.person_record_id = records.person_record_id
)

select * from final
