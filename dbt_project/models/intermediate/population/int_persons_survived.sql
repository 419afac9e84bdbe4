-- One row per valid person ID number: each descriptive attribute taken from the most authoritative
-- source that has a value for it (seed person_attribute_authorities, 一数一源), most recent record
-- first within a source. Gender and birth date fall back to what the ID number itself encodes.
{{ config(
    materialized='incremental',
    unique_key='person_id',
    meta={'touched_key': ["'birth_date:' || cast(birth_date as varchar(10))", "'name:' || replace(person_name, ' ', '')",
                          "'id_birth:' || substr(person_id, 7, 8)"]},
    pre_hook="{{ delete_touched_keys('int_person_identifiers_unioned', 'person_id') }}",
) }}
-- Incremental: a run rebuilds only the persons whose identifier occurrences changed (changed_keys),
-- noting the blocks record matching compares them in (int_person_records_resolved), before and after.
with

identifiers as (
    select * from {{ ref('int_person_identifiers_unioned') }}
    where is_valid
    {% if is_incremental() %}and id_number in {{ changed_keys('int_person_identifiers_unioned') }}{% endif %}
),
authorities as (select * from {{ ref('person_attribute_authorities') }}),

{% set attributes = ['person_name', 'gender', 'birth_date', 'address', 'division_code', 'mobile',
                     'registration_status', 'household_id'] %}
{% set types = {'birth_date': 'date', 'household_id': 'bigint'} %}

claims as (
    {% for attribute in attributes %}
    select id_number, '{{ attribute }}' as attribute, cast({{ attribute }} as varchar(200)) as attribute_value,
        source_table, recorded_at, source_record_id, loaded_at
    from identifiers
    where {{ attribute }} is not null
    union all
    {% endfor %}
    select distinct id_number, 'gender', {{ gender_from_id_number('id_number') }}, 'id_number',
        cast(null as timestamp with time zone), cast(null as varchar(32)), cast(null as timestamp with time zone)
    from identifiers
    union all
    select distinct id_number, 'birth_date', cast({{ birth_date_from_id_number('id_number') }} as varchar(200)),
        'id_number', cast(null as timestamp with time zone), cast(null as varchar(32)),
        cast(null as timestamp with time zone)
    from identifiers
),

ranked as (
    select
        claims.*,
        row_number() over (
            partition by claims.id_number, claims.attribute
            order by authorities.priority, claims.recorded_at desc nulls last, claims.source_record_id desc
        ) as claim_rank
    from claims
    inner join authorities
        on claims.attribute = authorities.attribute and claims.source_table = authorities.source_table
),

survived as (
    select
        id_number as person_id,
        {% for attribute in attributes %}
        cast(max(case when attribute = '{{ attribute }}' then attribute_value end)
            as {{ types.get(attribute, 'varchar(200)') }}) as {{ attribute }},
        max(case when attribute = '{{ attribute }}' then source_table end) as {{ attribute }}_source,
        {% endfor %}
        count(*) as attribute_count,
        max(loaded_at) as loaded_at,
        '{{ invocation_id }}' as build_id
    from ranked
    where claim_rank = 1
    group by id_number
)

select * from survived
