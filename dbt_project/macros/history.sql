{#- Macros for type-2 history and the governance feedback loop's memory across runs. -#}

{# The moment this build runs, var('run_at') (default: var('reference_date') at midnight UTC), as a
   timestamp with time zone literal. Incremental models stamp first/last seen with it; never now(). #}
{% macro run_at() -%}
    {%- set value = var('run_at', none) or (var('reference_date') ~ ' 00:00:00+00') -%}
    cast('{{ value }}' as timestamp with time zone)
{%- endmacro %}

{# Collapse a snapshot's versions (dbt_valid_from / dbt_valid_to) into periods in which the
   `columns` stayed the same: consecutive versions of one `key` that differ only in columns not
   listed (e.g. updated_at) become one row with valid_from, valid_to (null while current) and
   is_current. Returns a select statement; `relation` is a CTE or relation name. #}
{% macro collapse_versions(relation, key, columns) -%}
    {%- set partition = 'partition by ' ~ key ~ ' order by dbt_valid_from' -%}
    select
        {{ key }},
        {{ columns | join(', ') }},
        min(dbt_valid_from) as valid_from,
        case when count(dbt_valid_to) = count(*) then max(dbt_valid_to) end as valid_to,
        count(dbt_valid_to) < count(*) as is_current
    from (
        select
            *,
            sum(case when is_new_period then 1 else 0 end) over ({{ partition }} rows unbounded preceding)
                as period_number
        from (
            select
                *,
                lag(dbt_valid_from) over ({{ partition }}) is null
                {%- for column in columns %}
                or {{ column }} is distinct from lag({{ column }}) over ({{ partition }})
                {%- endfor %} as is_new_period
            from {{ relation }}
        ) as flagged
    ) as numbered
    group by {{ key }}, period_number, {{ columns | join(', ') }}
{%- endmacro %}
