-- One row per valid person ID number named in a marriage registration: the marital status the
-- latest registration implies. Civil affairs is authoritative for marital status. A standing
-- marriage whose spouse has since died makes the person 'widowed'.
{{ config(
    materialized='incremental',
    unique_key='person_id',
    pre_hook="{{ delete_touched_keys('int_person_identifiers_unioned', 'person_id') }}",
) }}
-- Incremental: a run rebuilds only the persons whose identifier occurrences changed, and their spouses (macros/incremental_keys.sql).
with

marriages as (select * from {{ ref('stg_civil_affairs__marriages') }}),
deaths as (select * from {{ ref('int_person_deaths_deduplicated') }}),
identifiers as (select * from {{ ref('int_person_identifiers_unioned') }}),

{% if is_incremental() %}
changed_persons as ({{ changed_persons_and_spouses() }}),
{% endif %}

valid_ids as (
    select distinct id_number from identifiers
    where is_valid {% if is_incremental() %}and id_number in (select id_number from changed_persons){% endif %}
),

registrations as (
    select husband_id_number as id_number, wife_id_number as spouse_id_number, marriage_id,
        registration_type, registered_on
    from marriages
    union all
    select wife_id_number, husband_id_number, marriage_id, registration_type, registered_on
    from marriages
),

valid_registrations as (
    select registrations.*
    from registrations
    inner join valid_ids on registrations.id_number = valid_ids.id_number
),

latest as (
    select
        *,
        row_number() over (
            partition by id_number order by registered_on desc nulls last, marriage_id desc
        ) as registration_rank
    from valid_registrations
),

final as (
    select
        latest.id_number as person_id,
        case
            when latest.registration_type = 'divorce' then 'divorced'
            when latest.registration_type = 'marriage' and spouse_death.died_on >= latest.registered_on
                then 'widowed'
            when latest.registration_type = 'marriage' then 'married'
        end as marital_status,
        case
            when latest.registration_type = 'marriage' and spouse_death.died_on >= latest.registered_on
                then spouse_death.died_on
            else latest.registered_on
        end as marital_status_since,
        latest.marriage_id as latest_marriage_id,
        latest.spouse_id_number,
        '{{ invocation_id }}' as build_id
    from latest
    left join deaths as spouse_death
        on latest.spouse_id_number = spouse_death.person_id
    where latest.registration_rank = 1
)

select * from final
