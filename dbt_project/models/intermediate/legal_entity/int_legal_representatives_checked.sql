-- One row per market-regulation enterprise record naming a legal representative: the
-- representative's ID number normalised and checked, and whether public security's household
-- register (any status) holds that person.
with

enterprises as {{ materialized() }} (select * from {{ ref('stg_market_regulation__enterprises') }}),
identifiers as (select * from {{ ref('int_person_identifiers_unioned') }}),

registered_persons as (
    select distinct id_number
    from identifiers
    where source_table = 'public_security__persons' and is_valid
),

checked as {{ materialized() }} (
    select
        enterprise_id,
        uscc,
        {{ is_valid_uscc('uscc') }} as is_uscc_valid,
        enterprise_name,
        legal_rep_id_number_as_recorded,
        legal_rep_id_number,
        legal_rep_name,
        {{ id_number_invalid_reason('legal_rep_id_number') }} as invalid_reason
    from enterprises
    where legal_rep_id_number_as_recorded is not null
),

final as (
    select
        checked.*,
        checked.invalid_reason is null as is_valid,
        registered_persons.id_number is not null as is_in_household_register
    from checked
    left join registered_persons
        on checked.legal_rep_id_number = registered_persons.id_number
)

select * from final
