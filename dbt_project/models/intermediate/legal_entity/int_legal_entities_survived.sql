-- One row per valid USCC registered with market regulation or tax. Market regulation is
-- authoritative for name, status, legal representative and registration facts; tax for the
-- credit rating (latest rated year); the tax name stands in where market regulation has none.
{{ config(
    materialized='incremental',
    unique_key='legal_entity_id',
    pre_hook="{{ delete_touched_keys('int_entity_identifiers_unioned', 'legal_entity_id') }}",
) }}
-- Incremental: a run rebuilds only the codes whose occurrences changed (macros/incremental_keys.sql).
with

enterprises as (select * from {{ ref('stg_market_regulation__enterprises') }}),
taxpayers as (select * from {{ ref('stg_tax__taxpayers') }}),
identifiers as (select * from {{ ref('int_entity_identifiers_unioned') }}),

valid_usccs as (
    select distinct uscc from identifiers
    where is_valid and role in ('registered_entity', 'taxpayer')
    {% if is_incremental() %}and uscc in {{ changed_keys('int_entity_identifiers_unioned') }}{% endif %}
),

registrations as (
    select
        *,
        row_number() over (partition by uscc order by updated_at desc nulls last, enterprise_id desc) as record_rank
    from enterprises
    where uscc in (select uscc from valid_usccs)
),

tax_registrations as (
    select
        *,
        row_number() over (partition by uscc order by updated_at desc nulls last, taxpayer_id desc) as record_rank,
        row_number() over (
            partition by uscc
            order by case when tax_credit_rating is null then 1 else 0 end, rated_year desc nulls last,
                updated_at desc nulls last, taxpayer_id desc
        ) as rating_rank
    from taxpayers
    where uscc in (select uscc from valid_usccs)
),

codes as (
    select uscc from registrations
    union
    select uscc from tax_registrations
),

final as (
    select
        codes.uscc as legal_entity_id,
        coalesce(registration.enterprise_name, taxpayer.taxpayer_name) as name,
        case
            when registration.enterprise_name is not null then 'market_regulation__enterprises'
            when taxpayer.taxpayer_name is not null then 'tax__taxpayers'
        end as name_source,
        registration.entity_type,
        registration.registration_status as status,
        registration.legal_rep_id_number,
        registration.legal_rep_name,
        registration.registered_capital_10k_cny,
        registration.industry,
        registration.established_on,
        registration.address,
        registration.division_code,
        registration.enterprise_id is not null as is_registered_with_market_regulation,
        taxpayer.taxpayer_id is not null as is_registered_taxpayer,
        taxpayer.tax_registration_number,
        rating.tax_credit_rating,
        case when rating.tax_credit_rating is not null then rating.rated_year end as tax_rated_year,
        '{{ invocation_id }}' as build_id
    from codes
    left join registrations as registration
        on codes.uscc = registration.uscc and registration.record_rank = 1
    left join tax_registrations as taxpayer
        on codes.uscc = taxpayer.uscc and taxpayer.record_rank = 1
    left join tax_registrations as rating
        on codes.uscc = rating.uscc and rating.rating_rank = 1
)

select * from final
