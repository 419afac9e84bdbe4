with

source as (
    {{ cdc_source(source('tax', 'taxpayers')) }}
),

renamed as (
    select
        cast(taxpayer_id as bigint) as taxpayer_id,
        uscc as uscc_as_recorded,
        {{ normalise_uscc('uscc') }} as uscc,
        {{ clean_text('name') }} as taxpayer_name,
        {{ clean_text('registration_no') }} as tax_registration_number,
        upper({{ clean_text('credit_rating') }}) as tax_credit_rating,
        cast(rated_year as integer) as rated_year,
        cast(updated_at as timestamp with time zone) as updated_at,
        _key as source_key,
        _loaded_at as loaded_at
    from source
)

select * from renamed
