{#- What the data tests of an incremental run look at. -#}

{# dbt wraps the model a generic test checks in get_where_subquery(). In a `dbt build`, a row-by-row
   test (not_null, accepted_values) of an incremental model stamping its rows `'{{ invocation_id }}' as
   build_id` checks only the rows this run wrote — the other rows passed when they were written and did
   not change — and so
   does `unique` on the model's unique key (delete+insert replaces the rows of every key it writes,
   so a duplicate can only come from the rows written). Relationships and singular tests, and every
   test in `dbt test`, still read the whole table. A build from scratch writes every row. #}
{% macro default__get_where_subquery(relation) -%}
    {%- set where = config.get('where', '') -%}
    {%- if rows_built_this_run_suffice(relation) -%}
        {%- set built_now = "build_id = '" ~ invocation_id ~ "'" -%}
        {%- set where = built_now ~ (' and (' ~ where ~ ')' if where else '') -%}
    {%- endif -%}
    {%- if where -%}
        {%- do return('(select * from ' ~ relation ~ ' where ' ~ where ~ ') dbt_subquery') -%}
    {%- endif -%}
    {%- do return(relation) -%}
{%- endmacro %}


{# Whether the generic test being compiled can judge `relation` by the rows this `dbt build` wrote. #}
{% macro rows_built_this_run_suffice(relation) -%}
    {%- if not execute or flags.WHICH != 'build' or model.resource_type != 'test' -%}{{ return(false) }}{%- endif -%}
    {%- set tested = graph.nodes.get(model.attached_node or '') -%}
    {%- set test_name = (model.test_metadata or {}).get('name') -%}
    {%- if tested is none or tested.config.materialized != 'incremental' -%}{{ return(false) }}{%- endif -%}
    {%- set unique_key = tested.config.unique_key -%}
    {%- set key_columns = [unique_key] if unique_key is string else (unique_key or []) -%}
    {%- set column = model.column_name or ((model.test_metadata or {}).get('kwargs') or {}).get('column_name') or '' -%}
    {%- set named = modules.re.findall('[A-Za-z_][A-Za-z0-9_]*', column) -%}
    {%- set row_by_row = test_name in ('not_null', 'accepted_values')
        or (test_name == 'unique' and key_columns and key_columns | reject('in', named) | list | length == 0) -%}
    {%- if not row_by_row -%}{{ return(false) }}{%- endif -%}
    {#- The model stamps the rows it writes: its code selects the invocation id as build_id (read from the
        code, not the warehouse: a catalog query per test cost ~1 s of a 1M incremental build). -#}
    {{ return(modules.re.search("invocation_id *}}' +as +build_id", tested.raw_code) is not none) }}
{%- endmacro %}
