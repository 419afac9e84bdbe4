-- One row per credit record: a court dishonest-debtor case, an NDRC licence or penalty (双公示) or
-- honour (守信激励, 红名单), or a tax credit rating, with the subject's code normalised and checked for its subject type.
with

debtors as (select * from {{ ref('stg_court__dishonest_debtors') }}),
sanctions as (select * from {{ ref('stg_ndrc__sanctions') }}),
taxpayers as (select * from {{ ref('stg_tax__taxpayers') }}),

records as {{ materialized() }} (
    select
        'court:' || cast(case_id as varchar(32)) as credit_record_id, 'court' as source,
        'dishonest_debtor' as record_type, subject_type, subject_code_as_recorded, subject_code, subject_name,
        case_number as reference_number, obligation as content, cast(null as varchar(64)) as authority,
        listing_status as status, filed_on as decided_on, cast(null as date) as publicity_until,
        cast(null as varchar(1)) as tax_credit_rating, cast(null as integer) as rated_year, updated_at
    from debtors
    union all
    select
        'ndrc:' || cast(sanction_id as varchar(32)), 'ndrc', sanction_type, subject_type,
        subject_code_as_recorded, subject_code, subject_name, decision_number, content, authority,
        cast(null as varchar(16)), decided_on, publicity_until, cast(null as varchar(1)), cast(null as integer),
        updated_at
    from sanctions
    union all
    select
        'tax:' || cast(taxpayer_id as varchar(32)), 'tax', 'tax_rating', 'entity', uscc_as_recorded, uscc,
        taxpayer_name, tax_registration_number, cast(null as varchar(200)), cast(null as varchar(64)),
        cast(null as varchar(16)), cast(null as date), cast(null as date), tax_credit_rating, rated_year, updated_at
    from taxpayers
    where tax_credit_rating is not null
),

checked as {{ materialized() }} (
    select
        *,
        case subject_type
            when 'person' then {{ id_number_invalid_reason('subject_code') }}
            when 'entity' then {{ uscc_invalid_reason('subject_code') }}
            else 'unknown_subject_type'
        end as subject_code_invalid_reason
    from records
),

final as (
    select
        *,
        subject_code_invalid_reason is null as is_subject_code_valid,
        case record_type
            when 'penalty' then publicity_until is null or publicity_until >= {{ reference_date() }}
            when 'dishonest_debtor' then status = 'listed'
            when 'tax_rating' then tax_credit_rating = 'A'
            else true
        end as is_publicly_visible
    from checked
)

select * from final
