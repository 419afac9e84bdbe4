-- One row per valid person ID number with a death registration. Civil affairs is authoritative for
-- death; when a person has several registrations the most recently updated one wins.
{{ config(
    materialized='incremental',
    unique_key='person_id',
    pre_hook="{{ delete_touched_keys('int_person_identifiers_unioned', 'person_id') }}",
) }}
-- Incremental: a run rebuilds only the persons whose identifier occurrences changed (macros/incremental_keys.sql).
with

deaths as (
    select * from {{ ref('stg_civil_affairs__deaths') }}
    {% if is_incremental() %}where id_number in {{ changed_keys('int_person_identifiers_unioned') }}{% endif %}
),
identifiers as (select * from {{ ref('int_person_identifiers_unioned') }}),

valid_ids as (
    select distinct id_number from identifiers
    where is_valid {% if is_incremental() %}and id_number in (select id_number from deaths){% endif %}
),

ranked as (
    select
        deaths.*,
        row_number() over (
            partition by deaths.id_number order by deaths.updated_at desc nulls last, deaths.death_id desc
        ) as record_rank,
        count(*) over (partition by deaths.id_number) as death_record_count
    from deaths
    inner join valid_ids on deaths.id_number = valid_ids.id_number
),

final as (
    select
        id_number as person_id,
        death_id,
        died_on,
        place_of_death,
        death_record_count,
        '{{ invocation_id }}' as build_id
    from ranked
    where record_rank = 1
)

select * from final
