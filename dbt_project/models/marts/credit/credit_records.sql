-- The credit library's records (信用信息): one row per court dishonest-debtor case, NDRC licence or
-- penalty (双公示) or honour (守信激励) and tax credit rating, whether or not the subject's code is valid.
-- A view: a projection of what the build keeps current costs nothing to keep current.
{{ config(materialized='view') }}
with

records as (select * from {{ ref('int_credit_records_unioned') }}),

final as (
    select
        credit_record_id,
        record_type,
        source,
        subject_type,
        subject_code,
        subject_code_as_recorded,
        is_subject_code_valid,
        subject_code_invalid_reason,
        subject_name,
        reference_number,
        content,
        authority,
        status,
        decided_on,
        publicity_until,
        tax_credit_rating,
        rated_year,
        is_publicly_visible,
        updated_at,
        loaded_at
    from records
)

select * from final
