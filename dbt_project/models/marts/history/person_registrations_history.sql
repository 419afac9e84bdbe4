-- Where a person was registered, and when (户籍变动历史): one row per household-registration record
-- and period in which its ID number, name, household, address, division and status stayed the same.
{{ config(materialized='incremental', unique_key='person_record_id') }}
-- Incremental (macros/incremental_keys.sql): a run collapses again the versions of the records whose
-- source rows changed (the snapshot keeps their source_key).
-- depends_on: {{ ref('stg_public_security__persons') }}
with

versions as (
    select * from {{ ref('person_registrations_snapshot') }}
    {% if is_incremental() and not every_key_touched('stg_public_security__persons') %}
    where person_record_id in (
        select person_record_id from {{ ref('person_registrations_snapshot') }}
        where source_key in {{ changed_keys('stg_public_security__persons') }}
    )
    {% endif %}
),

periods as (
    {{ collapse_versions('versions', 'person_record_id',
        ['id_number', 'person_name', 'household_id', 'address', 'division_code', 'registration_status']) }}
),

final as (
    select
        {{ dbt.hash("cast(person_record_id as varchar(32)) || '@'"
            " || cast(cast(extract(epoch from valid_from) as bigint) as varchar(20))") }}
            as person_registration_period_id,
        person_record_id,
        id_number as person_id,
        person_name as name,
        household_id,
        address,
        division_code,
        registration_status,
        valid_from,
        valid_to,
        is_current
    from periods
)

select * from final
