with

source as (
    {{ cdc_source(source('health', 'births')) }}
),

renamed as (
    select
        cast(birth_id as bigint) as birth_id,
        child_id_number as child_id_number_as_recorded,
        {{ normalise_id_number('child_id_number') }} as child_id_number,
        {{ clean_text('child_name') }} as child_name,
        {{ standardise_gender('gender') }} as child_gender,
        cast(born_on as date) as born_on,
        mother_id_number as mother_id_number_as_recorded,
        {{ normalise_id_number('mother_id_number') }} as mother_id_number,
        father_id_number as father_id_number_as_recorded,
        {{ normalise_id_number('father_id_number') }} as father_id_number,
        {{ clean_text('hospital') }} as hospital,
        cast(updated_at as timestamp with time zone) as updated_at,
        _key as source_key,
        _loaded_at as loaded_at
    from source
)

select * from renamed
