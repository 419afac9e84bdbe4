{#- Type-2 history of market-regulation registrations (市场主体登记): a new version whenever the
    registration's updated_at moves. history.legal_entity_status_history collapses the versions into
    periods of unchanged status / name / legal representative. -#}
{% snapshot enterprise_registrations_snapshot %}

{{ config(
    unique_key='enterprise_id',
    strategy='timestamp',
    updated_at='updated_at',
    hard_deletes='invalidate',
) }}

select
    enterprise_id,
    uscc,
    enterprise_name,
    registration_status,
    legal_rep_id_number,
    legal_rep_name,
    coalesce(updated_at, loaded_at) as updated_at,
    source_key
from {{ ref('stg_market_regulation__enterprises') }}

{% endsnapshot %}
