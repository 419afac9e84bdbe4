-- One row per person record in the population sources (public-security persons, civil-affairs
-- deaths and both spouses of a marriage, HRSS enrolments, the child of a health birth) — also
-- those whose ID number is missing or invalid — with what the record says to match the person on.
{% set staged = ['stg_public_security__persons', 'stg_civil_affairs__marriages', 'stg_civil_affairs__deaths',
                 'stg_hrss__enrolments', 'stg_health__births'] %}
{{ config(
    materialized='incremental',
    unique_key='person_record_id',
    meta={'touched_key': 'person_record_id'},
    pre_hook="{{ forget_stale_records(" ~ staged ~ ") }}",
) }}
-- Incremental (macros/incremental_keys.sql): a run derives only the records landed since the last, and
-- those whose ID number's verdict a moved reference date changes.
{% set verdict_moved = "(has_valid_id_number and " ~ id_number_verdict_moved('id_number', 'null') ~ ") or (not has_valid_id_number and "
    ~ id_number_verdict_moved('id_number_body', 'id_number_invalid_reason') ~ ")" %}
with

persons as (select * from {{ ref('stg_public_security__persons') }}),
marriages as (select * from {{ ref('stg_civil_affairs__marriages') }}),
deaths as (select * from {{ ref('stg_civil_affairs__deaths') }}),
enrolments as (select * from {{ ref('stg_hrss__enrolments') }}),
births as (select * from {{ ref('stg_health__births') }}),
identifiers as (select * from {{ ref('int_person_identifiers_unioned') }}),

{% set records = [
    ('public_security', 'persons', 'id_number', 'registered_resident', 'person_record_id',
        {'person_name': 'person_name', 'gender': 'gender', 'birth_date': 'birth_date', 'address': 'address',
         'division_code': 'division_code'}),
    ('civil_affairs', 'marriages', 'husband_id_number', 'husband', 'marriage_id',
        {'person_name': 'husband_name', 'gender': "'male'"}),
    ('civil_affairs', 'marriages', 'wife_id_number', 'wife', 'marriage_id',
        {'person_name': 'wife_name', 'gender': "'female'"}),
    ('civil_affairs', 'deaths', 'id_number', 'deceased', 'death_id', {'person_name': 'person_name'}),
    ('hrss', 'enrolments', 'id_number', 'insured', 'enrolment_id', {'person_name': 'person_name'}),
    ('health', 'births', 'child_id_number', 'child', 'birth_id',
        {'person_name': 'child_name', 'gender': 'child_gender', 'birth_date': 'born_on'}),
] %}
{% set attributes = ['person_name', 'gender', 'birth_date', 'address', 'division_code'] %}
{% set types = {'birth_date': 'date'} %}

records as (
    {% for source, table, column, role, record_id, mapped in records %}
    select
        '{{ source }}' as source,
        '{{ source }}__{{ table }}' as source_table,
        '{{ column }}' as source_column,
        '{{ role }}' as role,
        cast({{ record_id }} as varchar(32)) as source_record_id,
        {{ column }} as id_number_as_normalised,
        {%- for attribute in attributes %}
        cast({{ mapped.get(attribute, 'null') }} as {{ types.get(attribute, 'varchar') }}) as {{ attribute }},
        {%- endfor %}
        updated_at as recorded_at,
        source_key,
        loaded_at
    from {{ table }}
    where {{ landed_or_revisited(source ~ '__' ~ table, verdict_moved) }}
    {% if not loop.last %}union all{% endif %}
    {% endfor %}
),

checked as (
    select
        records.*,
        coalesce(identifiers.is_valid, false) as has_valid_id_number,
        coalesce(identifiers.invalid_reason, 'missing') as id_number_invalid_reason
    from records
    left join identifiers
        on records.source_table = identifiers.source_table
        and records.source_column = identifiers.source_column
        and records.source_record_id = identifiers.source_record_id
),

final as (
    select
        source_table || '.' || source_column || ':' || source_record_id as person_record_id,
        source,
        source_table,
        source_column,
        role,
        source_record_id,
        case when has_valid_id_number then id_number_as_normalised end as id_number,
        has_valid_id_number,
        case when not has_valid_id_number then id_number_invalid_reason end as id_number_invalid_reason,
        -- The first 17 characters of an unusable number still say area, birth date and sequence.
        case when not has_valid_id_number and {{ matches_pattern('substr(id_number_as_normalised, 1, 17)', '[0-9]{17}') }}
            then substr(id_number_as_normalised, 1, 17) end as id_number_body,
        person_name,
        replace(person_name, ' ', '') as name_key,
        gender,
        coalesce(birth_date, case when has_valid_id_number
            then {{ birth_date_from_id_number('id_number_as_normalised') }} end) as birth_date,
        address,
        division_code,
        recorded_at,
        source_key,
        loaded_at,
        '{{ invocation_id }}' as build_id
    from checked
)

select * from final
