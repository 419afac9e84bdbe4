-- Every person-identifier occurrence in the population sources, with what that source says about
-- the person, normalised and checked. The input to survivorship and to invalid_identifiers.
{% set records = ['stg_public_security__persons', 'stg_public_security__households', 'stg_civil_affairs__marriages',
                  'stg_civil_affairs__deaths', 'stg_hrss__enrolments', 'stg_health__births'] %}
{{ config(
    materialized='incremental',
    unique_key=['source_table', 'source_column', 'source_record_id'],
    meta={'touched_key': 'id_number'},
    pre_hook="{{ forget_stale_records(" ~ records ~ ") }}",
) }}
-- Incremental (macros/incremental_keys.sql): a run re-derives only the records landed since the last, and
-- those whose ID number's verdict a moved reference date changes (a birth date no longer in the future).
with

persons as (select * from {{ ref('stg_public_security__persons') }}),
households as (select * from {{ ref('stg_public_security__households') }}),
marriages as (select * from {{ ref('stg_civil_affairs__marriages') }}),
deaths as (select * from {{ ref('stg_civil_affairs__deaths') }}),
enrolments as (select * from {{ ref('stg_hrss__enrolments') }}),
births as (select * from {{ ref('stg_health__births') }}),

{% set attributes = ['person_name', 'gender', 'birth_date', 'address', 'division_code', 'mobile',
                     'registration_status', 'household_id'] %}
{% set occurrences = [
    ('public_security', 'persons', 'id_number', 'registered_resident', 'person_record_id',
        {'person_name': 'person_name', 'gender': 'gender', 'birth_date': 'birth_date', 'address': 'address',
         'division_code': 'division_code', 'registration_status': 'registration_status', 'household_id': 'household_id'}),
    ('public_security', 'households', 'head_id_number', 'household_head', 'household_id',
        {'address': 'address', 'division_code': 'division_code'}),
    ('civil_affairs', 'marriages', 'husband_id_number', 'husband', 'marriage_id', {'person_name': 'husband_name'}),
    ('civil_affairs', 'marriages', 'wife_id_number', 'wife', 'marriage_id', {'person_name': 'wife_name'}),
    ('civil_affairs', 'deaths', 'id_number', 'deceased', 'death_id', {'person_name': 'person_name'}),
    ('hrss', 'enrolments', 'id_number', 'insured', 'enrolment_id', {'person_name': 'person_name', 'mobile': 'mobile'}),
    ('health', 'births', 'child_id_number', 'child', 'birth_id',
        {'person_name': 'child_name', 'gender': 'child_gender', 'birth_date': 'born_on'}),
    ('health', 'births', 'mother_id_number', 'mother', 'birth_id', {}),
    ('health', 'births', 'father_id_number', 'father', 'birth_id', {}),
] %}
{% set types = {'birth_date': 'date', 'household_id': 'bigint'} %}

occurrences as {{ materialized() }} (
    {% for source, table, column, role, record_id, mapped in occurrences %}
    select
        '{{ source }}' as source,
        '{{ source }}__{{ table }}' as source_table,
        '{{ column }}' as source_column,
        '{{ role }}' as role,
        cast({{ record_id }} as varchar(32)) as source_record_id,
        {{ column }}_as_recorded as id_number_as_recorded,
        {{ column }} as id_number,
        {%- for attribute in attributes %}
        {{ mapped.get(attribute, 'cast(null as ' ~ types.get(attribute, 'varchar') ~ ')') }} as {{ attribute }},
        {%- endfor %}
        updated_at as recorded_at,
        source_key,
        loaded_at
    from {{ table }}
    where {{ column }}_as_recorded is not null
        and {{ landed_or_revisited(source ~ '__' ~ table, id_number_verdict_moved('id_number', 'invalid_reason')) }}
    {% if not loop.last %}union all{% endif %}
    {% endfor %}
),

checked as (
    {{ with_verdict_per_value('occurrences', 'id_number', id_number_invalid_reason) }}
),

final as (
    select
        *,
        invalid_reason is null as is_valid,
        '{{ invocation_id }}' as build_id
    from checked
)

select * from final
