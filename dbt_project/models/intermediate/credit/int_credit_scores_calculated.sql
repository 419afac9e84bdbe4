-- The credit score (信用分), one row per subject with a valid code. The rule, in full:
-- start at 100; -10 per publicly visible penalty; -30 per active (listed) dishonest-debtor listing;
-- latest tax credit rating A +5, B 0, M 0, C -10, D -20 (none: 0); +5 per honour, at most +15
-- (var honour_points_cap: a run of awards cannot outweigh one dishonest listing); never below 0.
{{ config(
    materialized='incremental',
    unique_key='credit_profile_id',
    pre_hook="{{ delete_touched_keys('int_credit_records_unioned', 'credit_profile_id') }}",
) }}
-- Incremental: a run scores again only the subjects whose records changed (macros/incremental_keys.sql).
with

records as (
    select * from {{ ref('int_credit_records_unioned') }}
    where is_subject_code_valid
    {% if is_incremental() %}and credit_profile_id in {{ changed_keys('int_credit_records_unioned') }}{% endif %}
),

latest_ratings as (
    select
        subject_code,
        tax_credit_rating,
        row_number() over (
            partition by subject_code order by rated_year desc nulls last, updated_at desc nulls last, credit_record_id desc
        ) as rating_rank
    from records
    where record_type = 'tax_rating'
),

counts as (
    select
        subject_type,
        subject_code,
        count(case when record_type = 'penalty' and is_publicly_visible then 1 end) as public_penalty_count,
        count(case when record_type = 'dishonest_debtor' and status = 'listed' then 1 end)
            as active_dishonest_listing_count,
        count(case when record_type = 'honour' then 1 end) as honour_count
    from records
    group by subject_type, subject_code
),

adjusted as (
    select
        counts.*,
        latest_ratings.tax_credit_rating,
        case latest_ratings.tax_credit_rating
            when 'A' then 5 when 'C' then -10 when 'D' then -20 else 0
        end as tax_rating_points,
        least(5 * honour_count, {{ var('honour_points_cap', 15) }}) as honour_points
    from counts
    left join latest_ratings
        on counts.subject_type = 'entity' and counts.subject_code = latest_ratings.subject_code
        and latest_ratings.rating_rank = 1
),

scored as (
    select
        *,
        cast(greatest(0, 100 - 10 * public_penalty_count - 30 * active_dishonest_listing_count
            + tax_rating_points + honour_points) as integer) as credit_score
    from adjusted
),

final as (
    select
        subject_type || ':' || subject_code as credit_profile_id,
        subject_type,
        subject_code,
        public_penalty_count,
        active_dishonest_listing_count,
        honour_count,
        tax_credit_rating,
        credit_score,
        '100 base'
        || case when public_penalty_count > 0
            then '; -10 x ' || cast(public_penalty_count as varchar(12)) || ' public penalty' else '' end
        || case when active_dishonest_listing_count > 0
            then '; -30 x ' || cast(active_dishonest_listing_count as varchar(12)) || ' dishonest listing' else '' end
        || case when tax_rating_points <> 0
            then '; ' || case when tax_rating_points > 0 then '+' else '' end
                || cast(tax_rating_points as varchar(12)) || ' tax rating ' || tax_credit_rating else '' end
        || case when honour_count > 0
            then '; +5 x ' || cast(honour_count as varchar(12)) || ' honour'
                || case when honour_points < 5 * honour_count
                    then ' (capped at +' || cast(honour_points as varchar(12)) || ')' else '' end
            else '' end
        || ' = ' || cast(credit_score as varchar(12)) as score_explanation,
        '{{ invocation_id }}' as build_id
    from scored
)

select * from final
