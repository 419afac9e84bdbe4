-- Every unified-social-credit-code occurrence in the sources that record one for an entity
-- (registration, tax registration, employer on an insurance enrolment), normalised and checked.
with

enterprises as (select * from {{ ref('stg_market_regulation__enterprises') }}),
taxpayers as (select * from {{ ref('stg_tax__taxpayers') }}),
enrolments as (select * from {{ ref('stg_hrss__enrolments') }}),

occurrences as {{ materialized() }} (
    select 'market_regulation' as source, 'market_regulation__enterprises' as source_table,
        'uscc' as source_column, 'registered_entity' as role,
        cast(enterprise_id as varchar(32)) as source_record_id, uscc_as_recorded, uscc,
        enterprise_name as entity_name, registration_number, updated_at as recorded_at
    from enterprises
    where uscc_as_recorded is not null
    union all
    select 'tax', 'tax__taxpayers', 'uscc', 'taxpayer',
        cast(taxpayer_id as varchar(32)), uscc_as_recorded, uscc, taxpayer_name, tax_registration_number, updated_at
    from taxpayers
    where uscc_as_recorded is not null
    union all
    select 'hrss', 'hrss__enrolments', 'employer_uscc', 'employer',
        cast(enrolment_id as varchar(32)), employer_uscc_as_recorded, employer_uscc, employer_name,
        cast(null as varchar(32)), updated_at
    from enrolments
    where employer_uscc_as_recorded is not null
),

checked as {{ materialized() }} (
    select
        *,
        {{ uscc_invalid_reason('uscc') }} as invalid_reason
    from occurrences
),

final as (
    select *, invalid_reason is null as is_valid from checked
)

select * from final
