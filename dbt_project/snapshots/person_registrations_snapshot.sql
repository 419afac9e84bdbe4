{#- Type-2 history of household-registration records (户籍人口): a new version whenever public
    security's updated_at moves. history.person_registrations_history collapses the versions into
    periods of unchanged status / address / division / household. -#}
{% snapshot person_registrations_snapshot %}

{{ config(
    unique_key='person_record_id',
    strategy='timestamp',
    updated_at='updated_at',
    hard_deletes='invalidate',
) }}

select
    person_record_id,
    id_number,
    person_name,
    household_id,
    address,
    division_code,
    registration_status,
    coalesce(updated_at, loaded_at) as updated_at,
    source_key
from {{ ref('stg_public_security__persons') }}

{% endsnapshot %}
