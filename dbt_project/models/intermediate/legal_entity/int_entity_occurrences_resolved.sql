-- Every entity occurrence — a USCC as recorded (registration, tax, employer on an enrolment, court
-- or NDRC subject) or a tax row giving only a registration number — tied to one legal entity: by
-- its valid USCC when the library knows it; else by the normalised name together with the
-- 15-digit registration number (工商注册号) or, failing that, the organisation code inside a broken
-- USCC, against the registrations with a valid USCC (market regulation's, and tax's for entities
-- market regulation records with a broken code). Exactly one entity or none.
{% set records = ['stg_market_regulation__enterprises', 'stg_tax__taxpayers', 'stg_hrss__enrolments',
                  'stg_court__dishonest_debtors', 'stg_ndrc__sanctions'] %}
{{ config(
    materialized='incremental',
    unique_key='entity_occurrence_id',
    meta={'touched_key': 'name_key'},
    pre_hook="{{ forget_stale_records(" ~ records ~ ") }}",
) }}
-- Incremental (macros/incremental_keys.sql): a run resolves the occurrences landed since the last, and
-- again those whose outcome a changed registration can move: their valid code's, or one under their
-- name (the name keys of forgotten rows are this model's own touched keys).
-- depends_on: {{ ref('stg_market_regulation__enterprises') }} {{ ref('stg_hrss__enrolments') }}
with

identifiers as (select * from {{ ref('int_entity_identifiers_unioned') }}),
taxpayers as (select * from {{ ref('stg_tax__taxpayers') }}),
debtors as (select * from {{ ref('stg_court__dishonest_debtors') }}),
sanctions as (select * from {{ ref('stg_ndrc__sanctions') }}),
legal_entities as (select * from {{ ref('int_legal_entities_survived') }}),

landed as {{ materialized() }} (
    select source, source_table, source_column, role, source_record_id, uscc_as_recorded, uscc,
        entity_name, registration_number, is_valid, source_key, loaded_at
    from identifiers
    where {{ landed_since_last_build() }}
    union all
    select 'tax', 'tax__taxpayers', 'uscc', 'taxpayer', cast(taxpayer_id as varchar(32)), null, null,
        taxpayer_name, tax_registration_number, false, source_key, loaded_at
    from taxpayers
    where uscc_as_recorded is null and tax_registration_number is not null and {{ landed_since_last_build() }}
    union all
    select 'court', 'court__dishonest_debtors', 'subject_code', 'dishonest_debtor', cast(case_id as varchar(32)),
        subject_code_as_recorded, subject_code, subject_name, null, {{ is_valid_uscc('subject_code') }}, source_key, loaded_at
    from debtors
    where subject_type = 'entity' and subject_code_as_recorded is not null and {{ landed_since_last_build() }}
    union all
    select 'ndrc', 'ndrc__sanctions', 'subject_code', 'sanction_subject', cast(sanction_id as varchar(32)),
        subject_code_as_recorded, subject_code, subject_name, null, {{ is_valid_uscc('subject_code') }}, source_key, loaded_at
    from sanctions
    where subject_type = 'entity' and subject_code_as_recorded is not null and {{ landed_since_last_build() }}
),

{% set occurrence_columns = ['entity_occurrence_id', 'source', 'source_table', 'source_column', 'role',
                             'source_record_id', 'uscc_as_recorded', 'uscc', 'entity_name', 'registration_number',
                             'is_valid', 'source_key', 'loaded_at', 'name_key', 'organisation_code'] %}
{% set organisation_code = 'case when length(uscc) = 18 then substr(uscc, 9, 9) end' %}
{% set is_registration = "role in ('registered_entity', 'taxpayer') and is_valid and entity_name is not null" %}

landed_occurrences as {{ materialized() }} (
    select
        source_table || '.' || source_column || ':' || source_record_id as entity_occurrence_id,
        landed.*,
        {{ normalise_entity_name('entity_name') }} as name_key,
        {{ organisation_code }} as organisation_code
    from landed
),

{% if is_incremental() %}
changed_usccs as (
    select touched_key as uscc from {{ changed_keys('int_entity_identifiers_unioned') }} as changed
),

changed_name_keys as (
    select touched_key as name_key from {{ touched_relation(this.identifier) }}
    union
    select name_key from landed_occurrences where {{ is_registration }}
),

-- Resolved before, still current (forget_stale_records removed the rest), and movable by a change.
revisited as (
    select *, {{ organisation_code }} as organisation_code
    from {{ this }}
    where entity_occurrence_id not in (select entity_occurrence_id from landed_occurrences)
        and (uscc in (select uscc from changed_usccs)
            or resolved_uscc in (select uscc from changed_usccs)
            or name_key in (select name_key from changed_name_keys)
            {%- if every_key_touched('int_entity_identifiers_unioned') or every_key_touched(this.identifier) %}
            or true
            {%- endif %})
),
{% endif %}

occurrences as {{ materialized() }} (
    select {{ occurrence_columns | join(', ') }} from landed_occurrences
    {% if is_incremental() %}
    union all
    select {{ occurrence_columns | join(', ') }} from revisited
    {% endif %}
),

keyed as {{ materialized() }} (
    select
        occurrences.*,
        legal_entities.legal_entity_id as keyed_uscc
    from occurrences
    left join legal_entities
        on occurrences.is_valid and occurrences.uscc = legal_entities.legal_entity_id
),

-- The registrations with a valid code (market regulation's and tax's), the fallback's candidates.
registered as {{ materialized() }} (
    select distinct uscc, name_key, registration_number, organisation_code from landed_occurrences
    where {{ is_registration }}
    {% if is_incremental() %}
    union
    select distinct uscc, name_key, registration_number, {{ organisation_code }} from {{ this }}
    where {{ is_registration }}
        and entity_occurrence_id not in (select entity_occurrence_id from landed_occurrences)
    {% endif %}
),

unkeyed as (select * from keyed where keyed_uscc is null and name_key is not null),

candidates as (
    select unkeyed.entity_occurrence_id, registered.uscc, 1 as method_rank
    from unkeyed
    inner join registered
        on unkeyed.registration_number = registered.registration_number and unkeyed.name_key = registered.name_key
    union
    select unkeyed.entity_occurrence_id, registered.uscc, 2 as method_rank
    from unkeyed
    inner join registered
        on unkeyed.organisation_code = registered.organisation_code and unkeyed.name_key = registered.name_key
),

best_methods as (
    select entity_occurrence_id, min(method_rank) as method_rank
    from candidates
    group by entity_occurrence_id
),

matches as (
    select
        candidates.entity_occurrence_id,
        candidates.method_rank,
        count(distinct candidates.uscc) as candidate_count,
        min(candidates.uscc) as matched_uscc
    from candidates
    inner join best_methods
        on candidates.entity_occurrence_id = best_methods.entity_occurrence_id
        and candidates.method_rank = best_methods.method_rank
    group by candidates.entity_occurrence_id, candidates.method_rank
),

final as (
    select
        keyed.entity_occurrence_id,
        keyed.source,
        keyed.source_table,
        keyed.source_column,
        keyed.source_record_id,
        keyed.role,
        keyed.uscc_as_recorded,
        keyed.uscc,
        keyed.is_valid,
        keyed.entity_name,
        keyed.name_key,
        keyed.registration_number,
        coalesce(keyed.keyed_uscc, case when matches.candidate_count = 1 then matches.matched_uscc end)
            as resolved_uscc,
        case
            when keyed.keyed_uscc is not null then 'valid_uscc'
            when matches.candidate_count = 1 and matches.method_rank = 1 then 'name_and_registration_no'
            when matches.candidate_count = 1 then 'name_and_organisation_code'
            else 'unresolved'
        end as match_method,
        case
            when keyed.keyed_uscc is not null or matches.candidate_count = 1 then null
            when matches.candidate_count > 1 then 'ambiguous'
            when keyed.is_valid then 'valid_uscc_not_registered'
            when keyed.name_key is null then 'no_name'
            else 'no_candidate'
        end as unresolved_reason,
        coalesce(matches.candidate_count, 0) as candidate_count,
        keyed.source_key,
        keyed.loaded_at,
        '{{ invocation_id }}' as build_id
    from keyed
    left join matches on keyed.entity_occurrence_id = matches.entity_occurrence_id
)

select * from final
