with

source as (
    {{ cdc_source(source('market_regulation', 'enterprises')) }}
),

renamed as (
    select
        cast(enterprise_id as bigint) as enterprise_id,
        uscc as uscc_as_recorded,
        {{ normalise_uscc('uscc') }} as uscc,
        {{ clean_text('name') }} as enterprise_name,
        {{ clean_text('registration_no') }} as registration_number,
        legal_rep_id_number as legal_rep_id_number_as_recorded,
        {{ normalise_id_number('legal_rep_id_number') }} as legal_rep_id_number,
        {{ clean_text('legal_rep_name') }} as legal_rep_name,
        cast(registered_capital as decimal(16, 2)) as registered_capital_10k_cny,
        {{ clean_text('industry') }} as industry,
        lower({{ clean_text('entity_type') }}) as entity_type,
        lower({{ clean_text('status') }}) as registration_status,
        cast(established_on as date) as established_on,
        {{ clean_text('address') }} as address_as_recorded,
        {{ normalise_address('address') }} as address,
        {{ clean_text('division_code') }} as division_code,
        cast(updated_at as timestamp with time zone) as updated_at,
        _key as source_key,
        _loaded_at as loaded_at
    from source
)

select * from renamed
