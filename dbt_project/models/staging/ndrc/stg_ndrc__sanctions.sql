with

source as (
    {{ cdc_source(source('ndrc', 'sanctions')) }}
),

typed as (
    select
        *,
        lower({{ clean_text('subject_type') }}) as subject_kind
    from source
),

renamed as (
    select
        cast(record_id as bigint) as sanction_id,
        lower({{ clean_text('record_type') }}) as sanction_type,
        subject_kind as subject_type,
        subject_code as subject_code_as_recorded,
        case subject_kind
            when 'person' then {{ normalise_id_number('subject_code') }}
            when 'entity' then {{ normalise_uscc('subject_code') }}
            else upper({{ clean_text('subject_code') }})
        end as subject_code,
        {{ clean_text('subject_name') }} as subject_name,
        {{ clean_text('decision_no') }} as decision_number,
        {{ clean_text('content') }} as content,
        {{ clean_text('authority') }} as authority,
        cast(decided_on as date) as decided_on,
        cast(publicity_until as date) as publicity_until,
        cast(updated_at as timestamp with time zone) as updated_at,
        _key as source_key,
        _loaded_at as loaded_at
    from typed
)

select * from renamed
