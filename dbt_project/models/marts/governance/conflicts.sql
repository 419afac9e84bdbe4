-- The governance feedback loop (问题回流闭环): one row per conflict ever found, open or closed.
-- Incremental: a conflict found again keeps its first_seen_at and gets last_seen_at = run_at; an
-- open conflict no longer found is closed (is_open false, closed_at = run_at). Reads var run_at.
-- full_refresh=false: `--full-refresh` must not erase the loop's memory (drop the table on purpose).
{{ config(materialized='incremental', unique_key='conflict_id', incremental_strategy='merge', full_refresh=false) }}

with

detected as (select * from {{ ref('conflicts_detected') }}),
{% if is_incremental() %}
known as (select * from {{ this }}),
{% endif %}

found_now as (
    select
        detected.conflict_id,
        detected.conflict_type,
        detected.conflict_key,
        detected.subject,
        detected.details,
        detected.department_to_fix,
        {% if is_incremental() %}coalesce(known.first_seen_at, {{ run_at() }}){% else %}{{ run_at() }}{% endif %}
            as first_seen_at,
        {{ run_at() }} as last_seen_at,
        true as is_open,
        cast(null as timestamp with time zone) as closed_at
    from detected
    {% if is_incremental() %}
    left join known on detected.conflict_id = known.conflict_id
    {% endif %}
),

{% if is_incremental() %}
gone as (
    select
        conflict_id, conflict_type, conflict_key, subject, details, department_to_fix, first_seen_at,
        last_seen_at, false as is_open, {{ run_at() }} as closed_at
    from known
    where is_open and conflict_id not in (select conflict_id from detected)
),
{% endif %}

final as (
    select * from found_now
    {% if is_incremental() %}
    union all
    select * from gone
    {% endif %}
)

select * from final
