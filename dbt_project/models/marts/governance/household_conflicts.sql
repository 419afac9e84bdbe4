-- Feedback to public security (回流): one row per 'active' household-registration record whose
-- person (matched on the valid normalised ID number) has a death registration with civil affairs.
with

identifiers as (select * from {{ ref('int_person_identifiers_unioned') }}),
deaths as (select * from {{ ref('int_person_deaths_deduplicated') }}),

active_registrations as (
    select * from identifiers
    where source_table = 'public_security__persons' and is_valid and registration_status = 'active'
),

final as (
    select
        cast(active_registrations.source_record_id as bigint) as person_record_id,
        active_registrations.id_number as person_id,
        active_registrations.person_name as name,
        active_registrations.household_id,
        active_registrations.registration_status,
        deaths.death_id,
        deaths.died_on,
        'deceased_but_registered_active' as conflict_type,
        'public_security' as department_to_fix,
        'civil_affairs registered this death on ' || cast(deaths.died_on as varchar(10))
            || '; cancel the household registration (注销户口)' as how_to_fix
    from active_registrations
    inner join deaths on active_registrations.id_number = deaths.person_id
)

select * from final
