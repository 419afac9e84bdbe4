-- One row per valid person ID number with an active social-insurance enrolment: the employer of
-- the most recently started active enrolment. HRSS is authoritative for employer.
with

enrolments as (select * from {{ ref('stg_hrss__enrolments') }}),
person_identifiers as (select * from {{ ref('int_person_identifiers_unioned') }}),
entity_identifiers as (select * from {{ ref('int_entity_identifiers_unioned') }}),

valid_ids as (
    select distinct id_number from person_identifiers where is_valid
),

valid_usccs as (
    select distinct uscc from entity_identifiers where is_valid
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
        valid_usccs.uscc as employer_uscc,
        ranked.employer_name,
        ranked.started_on as employed_since
    from ranked
    left join valid_usccs on ranked.employer_uscc = valid_usccs.uscc
    where ranked.enrolment_rank = 1
)

select * from final
