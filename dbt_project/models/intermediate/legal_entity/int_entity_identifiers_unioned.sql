-- Every unified-social-credit-code occurrence in the sources that record one for an entity
-- (registration, tax registration, employer on an insurance enrolment), normalised and checked.
{% set records = ['stg_market_regulation__enterprises', 'stg_tax__taxpayers', 'stg_hrss__enrolments'] %}
{{ config(
    materialized='incremental',
    unique_key=['source_table', 'source_column', 'source_record_id'],
    meta={'touched_key': 'uscc'},
    pre_hook="{{ forget_stale_records(" ~ records ~ ") }}",
) }}
-- Incremental (macros/incremental_keys.sql): a run re-derives only the records landed since the last.
with

enterprises as (select * from {{ ref('stg_market_regulation__enterprises') }}),
taxpayers as (select * from {{ ref('stg_tax__taxpayers') }}),
enrolments as (select * from {{ ref('stg_hrss__enrolments') }}),

occurrences as {{ materialized() }} (
    select 'market_regulation' as source, 'market_regulation__enterprises' as source_table,
        'uscc' as source_column, 'registered_entity' as role,
        cast(enterprise_id as varchar(32)) as source_record_id, uscc_as_recorded, uscc,
        enterprise_name as entity_name, registration_number, updated_at as recorded_at, source_key, loaded_at
    from enterprises
    where uscc_as_recorded is not null and {{ landed_since_last_build() }}
    union all
    select 'tax', 'tax__taxpayers', 'uscc', 'taxpayer',
        cast(taxpayer_id as varchar(32)), uscc_as_recorded, uscc, taxpayer_name, tax_registration_number, updated_at,
        source_key, loaded_at
    from taxpayers
    where uscc_as_recorded is not null and {{ landed_since_last_build() }}
    union all
    select 'hrss', 'hrss__enrolments', 'employer_uscc', 'employer',
        cast(enrolment_id as varchar(32)), employer_uscc_as_recorded, employer_uscc, employer_name,
        cast(null as varchar(32)), updated_at, source_key, loaded_at
    from enrolments
    where employer_uscc_as_recorded is not null and {{ landed_since_last_build() }}
),

checked as (
    {{ with_verdict_per_value('occurrences', 'uscc', uscc_invalid_reason) }}
),

final as (
    select *, invalid_reason is null as is_valid, '{{ invocation_id }}' as build_id from checked
)

select * from final
