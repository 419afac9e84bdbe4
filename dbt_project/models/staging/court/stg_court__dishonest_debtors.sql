with

source as (
    {{ cdc_source(source('court', 'dishonest_debtors')) }}
),

typed as (
    select
        *,
        lower({{ clean_text('subject_type') }}) as subject_kind
    from source
),

renamed as (
    select
        cast(case_id as bigint) as case_id,
        {{ clean_text('case_no') }} as case_number,
        subject_kind as subject_type,
        subject_code as subject_code_as_recorded,
        case subject_kind
            when 'person' then {{ normalise_id_number('subject_code') }}
            when 'entity' then {{ normalise_uscc('subject_code') }}
            else upper({{ clean_text('subject_code') }})
        end as subject_code,
        {{ clean_text('subject_name') }} as subject_name,
        {{ clean_text('obligation') }} as obligation,
        cast(filed_on as date) as filed_on,
        lower({{ clean_text('status') }}) as listing_status,
        cast(updated_at as timestamp with time zone) as updated_at,
        _key as source_key,
        _loaded_at as loaded_at
    from typed
)

select * from renamed
