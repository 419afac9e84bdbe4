-- One row per market-regulation enterprise record naming a legal representative: the
-- representative's ID number normalised and checked, and whether public security's household
-- register (any status) holds that person.
{{ config(
    materialized='incremental',
    unique_key='enterprise_id',
    pre_hook="{{ forget_stale_records(['stg_market_regulation__enterprises']) }}",
) }}
-- Incremental (macros/incremental_keys.sql): a run checks the enterprise records landed since the last,
-- and again those whose representative's entry in the register or verdict (reference date) changed.
{% set judged_again = "legal_rep_id_number in " ~ changed_keys('int_person_identifiers_unioned')
    ~ " or " ~ id_number_verdict_moved('legal_rep_id_number', 'invalid_reason') %}
with

enterprises as {{ materialized() }} (
    select * from {{ ref('stg_market_regulation__enterprises') }}
    where {{ landed_or_revisited('market_regulation__enterprises', judged_again) }}
),
identifiers as (select * from {{ ref('int_person_identifiers_unioned') }}),

registered_persons as (
    select distinct id_number
    from identifiers
    where source_table = 'public_security__persons' and is_valid
        and id_number in (select legal_rep_id_number from enterprises)
),

checked as {{ materialized() }} (
    select
        'market_regulation__enterprises' as source_table,
        source_key,
        loaded_at,
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
        registered_persons.id_number is not null as is_in_household_register,
        '{{ invocation_id }}' as build_id
    from checked
    left join registered_persons
        on checked.legal_rep_id_number = registered_persons.id_number
)

select * from final
