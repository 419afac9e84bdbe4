with

source as (
    {{ cdc_source(source('civil_affairs', 'deaths')) }}
),

renamed as (
    select
        cast(death_id as bigint) as death_id,
        id_number as id_number_as_recorded,
        {{ normalise_id_number('id_number') }} as id_number,
        {{ clean_text('name') }} as person_name,
        cast(died_on as date) as died_on,
        {{ clean_text('place') }} as place_of_death,
        cast(updated_at as timestamp with time zone) as updated_at,
        _key as source_key,
        _loaded_at as loaded_at
    from source
)

select * from renamed
