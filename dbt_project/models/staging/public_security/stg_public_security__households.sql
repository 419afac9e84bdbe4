with

source as (
    {{ cdc_source(source('public_security', 'households')) }}
),

renamed as (
    select
        cast(household_id as bigint) as household_id,
        head_id_number as head_id_number_as_recorded,
        {{ normalise_id_number('head_id_number') }} as head_id_number,
        {{ clean_text('address') }} as address_as_recorded,
        {{ normalise_address('address') }} as address,
        {{ clean_text('division_code') }} as division_code,
        cast(registered_on as date) as registered_on,
        cast(updated_at as timestamp with time zone) as updated_at,
        _key as source_key,
        _loaded_at as loaded_at
    from source
)

select * from renamed
