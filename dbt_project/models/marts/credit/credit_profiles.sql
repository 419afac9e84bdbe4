-- The credit profile (信用档案): one row per subject — a person or an entity with a valid code —
-- that has a court listing, an NDRC licence, penalty or honour, or a tax credit rating.
{{ config(
    materialized='incremental',
    unique_key='credit_profile_id',
    pre_hook="{{ delete_touched_keys('int_credit_records_unioned', 'credit_profile_id') }}",
) }}
-- Incremental (macros/incremental_keys.sql): a run rebuilds the profiles whose records changed, and
-- those of persons and entities whose library entry (name, presence) may have changed.
-- depends_on: {{ ref('int_credit_records_unioned') }} {{ ref('int_person_identifiers_unioned') }}
-- depends_on: {{ ref('int_entity_identifiers_unioned') }}
with

{% if is_incremental() %}
changed_profiles as (
    select touched_key as credit_profile_id from {{ changed_keys('int_credit_records_unioned') }} as records
    union
    select 'person:' || touched_key from {{ changed_keys('int_person_identifiers_unioned') }} as persons
    union
    select 'entity:' || touched_key from {{ changed_keys('int_entity_identifiers_unioned') }} as entities
),
{% endif %}

records as (
    select * from {{ ref('credit_records') }}
    where is_subject_code_valid
    {% if is_incremental() %}
    and subject_type || ':' || subject_code in (select credit_profile_id from changed_profiles)
    {% endif %}
),
persons as (select * from {{ ref('persons') }}),
legal_entities as (select * from {{ ref('legal_entities') }}),
scores as (select * from {{ ref('int_credit_scores_calculated') }}),

latest_ratings as (
    select
        subject_code,
        tax_credit_rating,
        rated_year,
        row_number() over (
            partition by subject_code order by rated_year desc nulls last, updated_at desc nulls last, credit_record_id desc
        ) as rating_rank
    from records
    where record_type = 'tax_rating'
),

latest_names as (
    select
        subject_type,
        subject_code,
        subject_name,
        row_number() over (
            partition by subject_type, subject_code order by updated_at desc nulls last, credit_record_id desc
        ) as name_rank
    from records
    where subject_name is not null
),

counts as (
    select
        subject_type,
        subject_code,
        count(case when record_type = 'penalty' then 1 end) as penalty_count,
        count(case when record_type = 'penalty' and is_publicly_visible then 1 end) as public_penalty_count,
        count(case when record_type = 'licence' then 1 end) as licence_count,
        count(case when record_type = 'honour' then 1 end) as honour_count,
        count(case when record_type = 'dishonest_debtor' then 1 end) as dishonest_listing_count,
        count(case when record_type = 'dishonest_debtor' and status = 'listed' then 1 end)
            as active_dishonest_listing_count
    from records
    group by subject_type, subject_code
),

final as (
    select
        counts.subject_type || ':' || counts.subject_code as credit_profile_id,
        counts.subject_type,
        counts.subject_code,
        coalesce(persons.name, legal_entities.name, latest_names.subject_name) as subject_name,
        counts.penalty_count,
        counts.public_penalty_count,
        counts.licence_count,
        counts.honour_count,
        counts.dishonest_listing_count,
        counts.active_dishonest_listing_count,
        counts.active_dishonest_listing_count > 0 as is_dishonest_debtor,
        latest_ratings.tax_credit_rating as latest_tax_credit_rating,
        latest_ratings.rated_year as latest_tax_rated_year,
        scores.credit_score,
        scores.score_explanation,
        persons.person_id is not null as is_in_population,
        legal_entities.legal_entity_id is not null as is_in_legal_entities
    from counts
    left join persons
        on counts.subject_type = 'person' and counts.subject_code = persons.person_id
    left join legal_entities
        on counts.subject_type = 'entity' and counts.subject_code = legal_entities.legal_entity_id
    left join latest_names
        on counts.subject_type = latest_names.subject_type and counts.subject_code = latest_names.subject_code
        and latest_names.name_rank = 1
    left join scores
        on counts.subject_type = scores.subject_type and counts.subject_code = scores.subject_code
    left join latest_ratings
        on counts.subject_type = 'entity' and counts.subject_code = latest_ratings.subject_code
        and latest_ratings.rating_rank = 1
)

select * from final
