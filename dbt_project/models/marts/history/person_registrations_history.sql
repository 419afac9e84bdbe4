-- Where a person was registered, and when (户籍变动历史): one row per household-registration record
-- and period in which its ID number, name, household, address, division and status stayed the same.
with

versions as (select * from {{ ref('person_registrations_snapshot') }}),

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
