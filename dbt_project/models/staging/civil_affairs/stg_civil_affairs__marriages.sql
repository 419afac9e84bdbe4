with

source as (
    {{ cdc_source(source('civil_affairs', 'marriages')) }}
),

renamed as (
    select
        cast(marriage_id as bigint) as marriage_id,
        husband_id_number as husband_id_number_as_recorded,
        {{ normalise_id_number('husband_id_number') }} as husband_id_number,
        {{ clean_text('husband_name') }} as husband_name,
        wife_id_number as wife_id_number_as_recorded,
        {{ normalise_id_number('wife_id_number') }} as wife_id_number,
        {{ clean_text('wife_name') }} as wife_name,
        lower({{ clean_text('registration_type') }}) as registration_type,
        cast(registered_on as date) as registered_on,
        cast(updated_at as timestamp with time zone) as updated_at,
        _key as source_key,
        _loaded_at as loaded_at
    from source
)

select * from renamed
