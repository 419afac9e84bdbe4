-- One row per credit record: a court dishonest-debtor case, an NDRC licence or penalty (双公示) or
-- honour (守信激励, 红名单), or a tax credit rating, with the subject's code normalised and checked for its subject type.
{% set records = ['stg_court__dishonest_debtors', 'stg_ndrc__sanctions', 'stg_tax__taxpayers'] %}
{{ config(
    materialized='incremental',
    unique_key='credit_record_id',
    meta={'touched_key': 'credit_profile_id'},
    pre_hook="{{ forget_stale_records(" ~ records ~ ") }}",
) }}
-- Incremental (macros/incremental_keys.sql): a run derives the records landed since the last, and again
-- those whose verdict the reference date moved (a penalty's publicity ended, a birth date no longer
-- in the future).
{% set judged_on_reference_date = "is_publicly_visible is distinct from (" ~ is_publicly_visible() ~ ")"
    ~ " or (subject_type = 'person' and " ~ id_number_verdict_moved('subject_code', 'subject_code_invalid_reason') ~ ")" %}
with

debtors as (select * from {{ ref('stg_court__dishonest_debtors') }}),
sanctions as (select * from {{ ref('stg_ndrc__sanctions') }}),
taxpayers as (select * from {{ ref('stg_tax__taxpayers') }}),

records as {{ materialized() }} (
    select
        'court:' || cast(case_id as varchar(32)) as credit_record_id, 'court' as source,
        'court__dishonest_debtors' as source_table, cast(case_id as varchar(32)) as source_record_id,
        'dishonest_debtor' as record_type, subject_type, subject_code_as_recorded, subject_code, subject_name,
        case_number as reference_number, obligation as content, cast(null as varchar(64)) as authority,
        listing_status as status, filed_on as decided_on, cast(null as date) as publicity_until,
        cast(null as varchar(1)) as tax_credit_rating, cast(null as integer) as rated_year, updated_at, source_key, loaded_at
    from debtors
    where {{ landed_or_revisited('court__dishonest_debtors', judged_on_reference_date) }}
    union all
    select
        'ndrc:' || cast(sanction_id as varchar(32)), 'ndrc', 'ndrc__sanctions', cast(sanction_id as varchar(32)),
        sanction_type, subject_type, subject_code_as_recorded, subject_code, subject_name, decision_number, content,
        authority, cast(null as varchar(16)), decided_on, publicity_until, cast(null as varchar(1)),
        cast(null as integer), updated_at, source_key, loaded_at
    from sanctions
    where {{ landed_or_revisited('ndrc__sanctions', judged_on_reference_date) }}
    union all
    select
        'tax:' || cast(taxpayer_id as varchar(32)), 'tax', 'tax__taxpayers', cast(taxpayer_id as varchar(32)),
        'tax_rating', 'entity', uscc_as_recorded, uscc, taxpayer_name, tax_registration_number,
        cast(null as varchar(200)), cast(null as varchar(64)), cast(null as varchar(16)), cast(null as date),
        cast(null as date), tax_credit_rating, rated_year, updated_at, source_key, loaded_at
    from taxpayers
    where tax_credit_rating is not null and {{ landed_or_revisited('tax__taxpayers', judged_on_reference_date) }}
),

-- The verdict once per distinct subject (a sixth of the records): the check is most of the work.
verdicts as {{ materialized() }} (
    select
        subject_kind,
        code_key,
        case subject_kind
            when 'person' then {{ id_number_invalid_reason('code_key') }}
            when 'entity' then {{ uscc_invalid_reason('code_key') }}
            else 'unknown_subject_type'
        end as subject_code_invalid_reason
    from (
        select distinct coalesce(subject_type, '') as subject_kind, coalesce(subject_code, '') as code_key
        from records
    ) as subjects
),

checked as (
    select
        records.*,
        verdicts.subject_code_invalid_reason
    from records
    inner join verdicts
        on coalesce(records.subject_type, '') = verdicts.subject_kind
        and coalesce(records.subject_code, '') = verdicts.code_key
),

final as (
    select
        *,
        subject_code_invalid_reason is null as is_subject_code_valid,
        {{ is_publicly_visible() }} as is_publicly_visible,
        subject_type || ':' || subject_code as credit_profile_id,
        '{{ invocation_id }}' as build_id
    from checked
)

select * from final
