with

source as (
    {{ cdc_source(source('public_security', 'persons')) }}
),

renamed as (
    select
        cast(person_no as bigint) as person_record_id,
        id_number as id_number_as_recorded,
        {{ normalise_id_number('id_number') }} as id_number,
        {{ clean_text('name') }} as person_name,
        {{ standardise_gender('gender') }} as gender,
        cast(birth_date as date) as birth_date,
        {{ clean_text('ethnicity') }} as ethnicity,
        cast(household_id as bigint) as household_id,
        {{ clean_text('address') }} as address_as_recorded,
        {{ normalise_address('address') }} as address,
        {{ clean_text('division_code') }} as division_code,
        lower({{ clean_text('status') }}) as registration_status,
        cast(updated_at as timestamp with time zone) as updated_at,
        _key as source_key,
        _loaded_at as loaded_at
    from source
)

select * from renamed
