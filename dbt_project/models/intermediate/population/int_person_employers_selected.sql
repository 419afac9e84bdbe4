-- One row per valid person ID number with an active social-insurance enrolment: the employer of
-- the most recently started active enrolment. HRSS is authoritative for employer.
{{ config(
    materialized='incremental',
    unique_key='person_id',
    pre_hook="{{ delete_touched_keys('int_person_identifiers_unioned', 'person_id') }}",
) }}
-- Incremental: a run rebuilds only the persons whose identifier occurrences changed (macros/incremental_keys.sql).
with

enrolments as (
    select * from {{ ref('stg_hrss__enrolments') }}
    {% if is_incremental() %}where id_number in {{ changed_keys('int_person_identifiers_unioned') }}{% endif %}
),
person_identifiers as (select * from {{ ref('int_person_identifiers_unioned') }}),

valid_ids as (
    select distinct id_number from person_identifiers
    where is_valid {% if is_incremental() %}and id_number in (select id_number from enrolments){% endif %}
),

active_enrolments as (
    select enrolments.*
    from enrolments
    inner join valid_ids on enrolments.id_number = valid_ids.id_number
    where enrolments.enrolment_status = 'active'
),

ranked as (
    select
        *,
        row_number() over (
            partition by id_number order by started_on desc nulls last, updated_at desc nulls last, enrolment_id desc
        ) as enrolment_rank
    from active_enrolments
),

final as (
    select
        ranked.id_number as person_id,
        ranked.enrolment_id,
        -- A USCC is valid wherever it occurs (int_entity_identifiers_unioned checks the same code).
        case when {{ is_valid_uscc('ranked.employer_uscc') }} then ranked.employer_uscc end as employer_uscc,
        ranked.employer_name,
        ranked.started_on as employed_since,
        '{{ invocation_id }}' as build_id
    from ranked
    where ranked.enrolment_rank = 1
)

select * from final
