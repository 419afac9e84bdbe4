with

source as (
    {{ cdc_source(source('hrss', 'enrolments')) }}
),

renamed as (
    select
        cast(enrolment_id as bigint) as enrolment_id,
        id_number as id_number_as_recorded,
        {{ normalise_id_number('id_number') }} as id_number,
        {{ clean_text('name') }} as person_name,
        mobile as mobile_as_recorded,
        {{ normalise_mobile('mobile') }} as mobile,
        employer_uscc as employer_uscc_as_recorded,
        {{ normalise_uscc('employer_uscc') }} as employer_uscc,
        {{ clean_text('employer_name') }} as employer_name,
        lower({{ clean_text('insurance_type') }}) as insurance_type,
        cast(started_on as date) as started_on,
        lower({{ clean_text('status') }}) as enrolment_status,
        cast(updated_at as timestamp with time zone) as updated_at,
        _key as source_key,
        _loaded_at as loaded_at
    from source
)

select * from renamed
