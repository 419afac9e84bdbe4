-- What a company's registration said, and when (市场主体登记变动历史): one row per market-regulation
-- registration and period in which its USCC, name, status and legal representative stayed the same.
{{ config(materialized='incremental', unique_key='enterprise_id') }}
-- Incremental (macros/incremental_keys.sql): a run collapses again the versions of the records whose
-- source rows changed (the snapshot keeps their source_key).
-- depends_on: {{ ref('stg_market_regulation__enterprises') }}
with

versions as (
    select * from {{ ref('enterprise_registrations_snapshot') }}
    {% if is_incremental() and not every_key_touched('stg_market_regulation__enterprises') %}
    where enterprise_id in (
        select enterprise_id from {{ ref('enterprise_registrations_snapshot') }}
        where source_key in {{ changed_keys('stg_market_regulation__enterprises') }}
    )
    {% endif %}
),

periods as (
    {{ collapse_versions('versions', 'enterprise_id',
        ['uscc', 'enterprise_name', 'registration_status', 'legal_rep_id_number', 'legal_rep_name']) }}
),

final as (
    select
        {{ dbt.hash("cast(enterprise_id as varchar(32)) || '@'"
            " || cast(cast(extract(epoch from valid_from) as bigint) as varchar(20))") }}
            as legal_entity_status_period_id,
        enterprise_id,
        uscc as legal_entity_id,
        enterprise_name as name,
        registration_status as status,
        legal_rep_id_number,
        legal_rep_name,
        valid_from,
        valid_to,
        is_current
    from periods
)

select * from final
