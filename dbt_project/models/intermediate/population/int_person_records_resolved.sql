-- One row per person record (int_person_records_unioned): the person it is about. A valid ID
-- number resolves the record to itself; otherwise the record is blocked against the population
-- (same birth date, or same name) and each candidate scored on name similarity, birth date, the
-- body of the unusable ID number, gender, address and division. The best candidate wins when its
-- score reaches var('person_match_threshold') and no runner-up is within var('person_match_margin').
{%- set threshold = var('person_match_threshold', 0.9) %}
{%- set margin = var('person_match_margin', 0.05) %}
{%- set weights = {'name': 4, 'birth_date': 3, 'id_number_body': 3, 'gender': 1, 'address': 2, 'division': 1} %}
{{ config(
    materialized='incremental',
    unique_key='person_record_id',
    pre_hook="{{ delete_touched_keys('int_person_records_unioned', 'person_record_id') }}",
) }}
-- Incremental (macros/incremental_keys.sql): a run resolves the records that changed, and again the
-- records without a usable ID number in a block (birth date, name) where a person changed.
with

all_records as (select * from {{ ref('int_person_records_unioned') }}),
survived as (select * from {{ ref('int_persons_survived') }}),

{% if is_incremental() %}
changed_blocks as (select touched_key from {{ changed_keys('int_persons_survived') }} as changed),
{% endif %}

records as (
    select * from all_records
    {% if is_incremental() %}
    where person_record_id in {{ changed_keys('int_person_records_unioned') }}
    or (not has_valid_id_number and (
        'birth_date:' || cast(birth_date as varchar(10)) in (select touched_key from changed_blocks)
        or 'name:' || name_key in (select touched_key from changed_blocks)
        or (birth_date is null and 'id_birth:' || substr(id_number_body, 7, 8) in (select touched_key from changed_blocks))
    ))
    {% endif %}
),

population as (
    select person_id, replace(person_name, ' ', '') as name_key, gender, birth_date, address, division_code
    from survived
),

unkeyed as (
    select * from records where not has_valid_id_number
),

blocked as (
    select unkeyed.person_record_id, population.person_id
    from unkeyed inner join population on unkeyed.birth_date = population.birth_date
    union
    select unkeyed.person_record_id, population.person_id
    from unkeyed inner join population
        on unkeyed.birth_date is null and substr(unkeyed.id_number_body, 7, 8) = substr(population.person_id, 7, 8)
    union
    select unkeyed.person_record_id, population.person_id
    from unkeyed inner join population on unkeyed.name_key = population.name_key
),

compared as (
    select
        blocked.person_record_id,
        blocked.person_id,
        {{ name_similarity('unkeyed.name_key', 'population.name_key') }} as name_agreement,
        case
            when unkeyed.birth_date is not null
                then case when unkeyed.birth_date = population.birth_date then 1.0 else 0.0 end
            when unkeyed.id_number_body is not null
                then case when substr(unkeyed.id_number_body, 7, 8) = substr(population.person_id, 7, 8)
                    then 1.0 else 0.0 end
        end as birth_date_agreement,
        case when unkeyed.id_number_body is not null
            then case when unkeyed.id_number_body = substr(population.person_id, 1, 17) then 1.0 else 0.0 end
        end as id_number_body_agreement,
        case when unkeyed.gender is not null and population.gender is not null
            then case when unkeyed.gender = population.gender then 1.0 else 0.0 end
        end as gender_agreement,
        case when unkeyed.address is not null and population.address is not null
            then case when unkeyed.address = population.address then 1.0 else 0.0 end
        end as address_agreement,
        case when unkeyed.division_code is not null and population.division_code is not null
            then case when unkeyed.division_code = population.division_code then 1.0 else 0.0 end
        end as division_agreement
    from blocked
    inner join unkeyed on blocked.person_record_id = unkeyed.person_record_id
    inner join population on blocked.person_id = population.person_id
),

{% set parts = [('name_agreement', weights.name), ('birth_date_agreement', weights.birth_date),
                ('id_number_body_agreement', weights.id_number_body), ('gender_agreement', weights.gender),
                ('address_agreement', weights.address), ('division_agreement', weights.division)] %}

scored as (
    select
        person_record_id,
        person_id,
        ({% for column, weight in parts %}coalesce({{ column }}, 0) * {{ weight }}{% if not loop.last %} + {% endif %}{% endfor %})
        / ({% for column, weight in parts %}case when {{ column }} is null then 0 else {{ weight }} end{% if not loop.last %} + {% endif %}{% endfor %})
            as match_score
    from compared
),

ranked as (
    select
        *,
        row_number() over (partition by person_record_id order by match_score desc, person_id) as candidate_rank,
        count(*) over (partition by person_record_id) as candidate_count
    from scored
),

best as (
    select
        top.person_record_id,
        top.person_id as best_candidate_person_id,
        top.match_score as best_candidate_score,
        runner_up.match_score as runner_up_score,
        top.candidate_count
    from ranked as top
    left join ranked as runner_up
        on top.person_record_id = runner_up.person_record_id and runner_up.candidate_rank = 2
    where top.candidate_rank = 1
),

decided as (
    select
        unkeyed.person_record_id,
        best.best_candidate_person_id,
        best.best_candidate_score,
        best.runner_up_score,
        coalesce(best.candidate_count, 0) as candidate_count,
        case
            when best.person_record_id is null then 'no_candidate'
            when best.best_candidate_score < {{ threshold }} then 'below_threshold'
            when best.runner_up_score >= best.best_candidate_score - {{ margin }} then 'ambiguous'
            else 'matched'
        end as resolution_status
    from unkeyed
    left join best on unkeyed.person_record_id = best.person_record_id
),

final as (
    select
        records.person_record_id,
        records.source,
        records.source_table,
        records.source_column,
        records.source_record_id,
        records.role,
        case
            when records.has_valid_id_number then records.id_number
            when decided.resolution_status = 'matched' then decided.best_candidate_person_id
        end as resolved_person_id,
        case
            when records.has_valid_id_number then 'valid_id'
            when decided.resolution_status = 'matched' then 'probabilistic'
        end as match_method,
        case
            when records.has_valid_id_number then cast(1.0 as double precision)
            when decided.resolution_status = 'matched' then cast(decided.best_candidate_score as double precision)
        end as match_score,
        case when records.has_valid_id_number then 'valid_id' else decided.resolution_status end
            as resolution_status,
        decided.best_candidate_person_id,
        decided.best_candidate_score,
        decided.runner_up_score,
        coalesce(decided.candidate_count, 0) as candidate_count,
        '{{ invocation_id }}' as build_id
    from records
    left join decided on records.person_record_id = decided.person_record_id
)

select * from final
