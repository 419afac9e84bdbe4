-- The legal-entity library (法人综合库): one row per valid unified social credit code registered
-- with market regulation or tax; the legal representative linked to the population library.
with

survived as (select * from {{ ref('int_legal_entities_survived') }}),
persons as (select * from {{ ref('persons') }}),

final as (
    select
        survived.legal_entity_id,
        survived.name,
        survived.name_source,
        survived.entity_type,
        survived.status,
        survived.legal_rep_id_number,
        survived.legal_rep_name,
        persons.person_id is not null as has_legal_rep_in_population,
        survived.registered_capital_10k_cny,
        survived.industry,
        survived.established_on,
        survived.address,
        survived.division_code,
        survived.is_registered_with_market_regulation,
        survived.is_registered_taxpayer,
        survived.tax_registration_number,
        survived.tax_credit_rating,
        survived.tax_rated_year
    from survived
    left join persons on survived.legal_rep_id_number = persons.person_id
)

select * from final
