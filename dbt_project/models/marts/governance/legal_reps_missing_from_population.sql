-- Feedback (回流): one row per market-regulation enterprise record whose legal representative's ID
-- number is invalid, or valid but not in public security's household register.
with

legal_representatives as (select * from {{ ref('int_legal_representatives_checked') }}),

final as (
    select
        enterprise_id,
        uscc as legal_entity_id,
        is_uscc_valid,
        enterprise_name,
        legal_rep_id_number_as_recorded,
        legal_rep_id_number,
        legal_rep_name,
        case when is_valid then 'not_in_household_register' else 'invalid_id_number' end as problem,
        invalid_reason,
        case when is_valid then 'public_security' else 'market_regulation' end as department_to_fix
    from legal_representatives
    where not is_valid or not is_in_household_register
)

select * from final
