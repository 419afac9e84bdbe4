{#- Incremental models rebuild only what changed, told by their upstream models which keys changed.

    A producer declares the keys its dependents rebuild by (config `meta.touched_key`: a column or SQL
    expression over its rows, or a list of them) and keeps a side table `<model>__touched` of keys
    touched since its dependents last consumed them. Staging notes the source keys deleted at the
    source (macros/incremental_cdc.sql). A model with one row per source record (`source_table`,
    `source_key` and `loaded_at` carried from staging, `build_id` = the dbt invocation) keeps current
    with `forget_stale_records()` — its pre-hook notes the keys of rows whose source record changed
    or disappeared, then deletes them — and a batch of the records landed after its watermark; its
    post-hook `note_rebuilt_keys()` notes the keys of the rows it wrote. A model keyed by a producer's
    key rebuilds the keys `changed_keys()` names after `delete_touched_keys()` dropped their rows
    (noting, if it is a producer itself, the keys of the rows it drops).

    A side table is emptied at the end of a run in which the producer and every incremental model
    depending on it succeeded (`clear_consumed_touched_keys()`, on-run-end), so a failed or partial
    run leaves the keys for the next. A producer built from scratch (first build, `--full-refresh`)
    notes '*', "every key": its dependents, if not rebuilt from scratch too, then rebuild every key. -#}


{# The newest `loaded_at` of the model being built: what it has already read (staging: of the change
   log; a record-level model: of staging). #}
{% macro watermark() -%}
    (select coalesce(max(loaded_at), cast('1970-01-01' as timestamp with time zone)) from {{ this }})
{%- endmacro %}


{# Only rows landed after this model's watermark (use inside a where clause). #}
{% macro landed_since_last_build(column='loaded_at') -%}
    {%- if is_incremental() -%}
    {{ column }} > {{ watermark() }}
    {%- else -%}
    true
    {%- endif -%}
{%- endmacro %}


{# Which rows of a staging model a producer's batch reads (use inside a where clause): those landed
   since its watermark, and on incremental runs the records of its rows (source_table
   `source_table`) matching `revisit` — a condition on its own columns naming a verdict that depends
   on more than the record, such as var('reference_date'). #}
{% macro landed_or_revisited(source_table, revisit=none) -%}
    {%- if is_incremental() and revisit -%}
    ({{ landed_since_last_build() }} or source_key in (
        select source_key from {{ this }} where source_table = '{{ source_table }}' and ({{ revisit }})))
    {%- else -%}
    {{ landed_since_last_build() }}
    {%- endif -%}
{%- endmacro %}


{# The key expressions `model_name` (default: this model) declares in meta.touched_key, as a list. #}
{% macro touched_key_expressions(model_name=none) -%}
    {%- if not execute -%}{{ return([]) }}{%- endif -%}
    {%- set node = model if model_name is none else graph.nodes.get('model.' ~ project_name ~ '.' ~ model_name) -%}
    {%- set key = ((node or {}).get('config', {}).get('meta') or {}).get('touched_key') -%}
    {{ return([] if not key else ([key] if key is string else key)) }}
{%- endmacro %}


{# `select touched_key …`: the keys of the rows of `relation` (alias `built`) that satisfy `condition`. #}
{% macro touched_keys_of(expressions, relation, condition='true') -%}
    {%- for expression in expressions %}
    select distinct cast({{ expression }} as varchar(200)) as touched_key from {{ relation }} as built
    where {{ expression }} is not null and {{ condition }}
    {%- if not loop.last %}
    union
    {%- endif %}
    {%- endfor %}
{%- endmacro %}


{# The side table of keys touched since every dependent last consumed them. #}
{% macro touched_relation(model_name) -%}
    {%- set built = this if model_name == this.identifier else ref(model_name) -%}
    {{ return(api.Relation.create(database=built.database, schema=built.schema,
                                  identifier=built.identifier ~ '__touched')) }}
{%- endmacro %}


{% macro ensure_touched_table(model_name) -%}
    create table if not exists {{ touched_relation(model_name) }} (touched_key varchar(200))
{%- endmacro %}


{# Whether `model_name` noted '*' (rebuilt from scratch since its keys were last consumed), asked while
   the calling SQL is rendered at run time. #}
{% macro every_key_touched(model_name) -%}
    {%- if not execute -%}{{ return(false) }}{%- endif -%}
    {%- do run_query(ensure_touched_table(model_name)) -%}
    {%- set found = run_query('select count(*) from ' ~ touched_relation(model_name) ~ " where touched_key = '*'") -%}
    {{ return(found.columns[0].values()[0] > 0) }}
{%- endmacro %}


{# The source keys a staging model noted as deleted that it does not hold again (a key can come back). #}
{% macro removed_source_keys(model_name) -%}
    select touched_key from {{ touched_relation(model_name) }}
    where touched_key not in (
        select source_key from {{ ref(model_name) }}
        where source_key in (select touched_key from {{ touched_relation(model_name) }})
    )
{%- endmacro %}


{# Rows of `this` (alias `built`) whose staging record changed or disappeared since this model's last
   build. `records` lists the staging models it is built from; a row's source_table is the staging
   name without 'stg_', its source_key the staging row's. A staging model rebuilt from scratch since
   has every row compared with it. #}
{% macro stale_record_condition(records) -%}
    (
        exists (
            select 1 from (
                {%- for model_name in records %}
                select '{{ model_name | replace("stg_", "", 1) }}' as source_table, source_key
                from {{ ref(model_name) }} where loaded_at > {{ watermark() }}
                union all
                select '{{ model_name | replace("stg_", "", 1) }}', touched_key from ({{ removed_source_keys(model_name) }}) as removed
                {%- if not loop.last %}
                union all
                {%- endif %}
                {%- endfor %}
            ) as changed_records
            where changed_records.source_table = built.source_table and changed_records.source_key = built.source_key
        )
        {%- for model_name in records if every_key_touched(model_name) %}
        or (built.source_table = '{{ model_name | replace("stg_", "", 1) }}' and not exists (
            select 1 from {{ ref(model_name) }} as current_record
            where current_record.source_key = built.source_key and current_record.loaded_at = built.loaded_at))
        {%- endfor %}
    )
{%- endmacro %}


{# Pre-hook of a model built from staging records: note the keys of stale rows (if it declares any),
   then delete the rows; built from scratch, note '*'. #}
{% macro forget_stale_records(records) -%}
    {%- set keys = touched_key_expressions() -%}
    {%- if keys -%}
    {{ ensure_touched_table(this.identifier) }};
    {%- endif -%}
    {%- if is_incremental() %}
    {%- if keys %}
    insert into {{ touched_relation(this.identifier) }} (touched_key)
        {{ touched_keys_of(keys, this, stale_record_condition(records)) }};
    {%- endif %}
    delete from {{ this }} as built where {{ stale_record_condition(records) }}
    {%- elif keys %}
    insert into {{ touched_relation(this.identifier) }} (touched_key) values ('*')
    {%- endif -%}
{%- endmacro %}


{# Post-hook of a producer (every intermediate model, dbt_project.yml): note the keys of the rows this run wrote. #}
{% macro note_rebuilt_keys() -%}
    {%- if is_incremental() and touched_key_expressions() -%}
    insert into {{ touched_relation(this.identifier) }} (touched_key)
        {{ touched_keys_of(touched_key_expressions(), this, "build_id = '" ~ invocation_id ~ "'") }}
    {%- endif -%}
{%- endmacro %}


{# The keys a dependent rebuilds: those `model_name` touched since the dependents last consumed them
   (every key after `model_name` was rebuilt from scratch). #}
{% macro changed_keys(model_name) -%}
    (
        select touched_key from {{ touched_relation(model_name) }}
        {%- if every_key_touched(model_name) %}
        union
        {{ touched_keys_of(touched_key_expressions(model_name), ref(model_name)) }}
        {%- endif %}
    )
{%- endmacro %}


{# Pre-hook of a dependent keyed by `this_key_column`: drop the rows of `model_name`'s touched keys
   (the batch re-adds those that remain), every row when `model_name` was rebuilt from scratch. A
   dependent that is a producer itself notes the keys of the rows it drops; built from scratch, '*'. #}
{% macro delete_touched_keys(model_name, this_key_column) -%}
    {%- set keys = touched_key_expressions() -%}
    {%- set every = is_incremental() and every_key_touched(model_name) -%}
    {%- set dropped = 'true' if every else this_key_column ~ ' in (select touched_key from ' ~ touched_relation(model_name) ~ ')' -%}
    {%- if keys -%}
    {{ ensure_touched_table(this.identifier) }};
    insert into {{ touched_relation(this.identifier) }} (touched_key)
    {%- if is_incremental() %}
        {{ touched_keys_of(keys, this, dropped) }};
    {%- else %}
        values ('*');
    {%- endif %}
    {%- endif %}
    {%- if is_incremental() %}
    delete from {{ this }} where {{ dropped }}
    {%- endif -%}
{%- endmacro %}


{# on-run-end: empty the side tables whose producer and incremental dependents all succeeded in this
   run (they consumed the keys); the others keep their keys for the next run. #}
{% macro clear_consumed_touched_keys() -%}
    {%- if execute -%}
    {%- set succeeded = [] -%}
    {%- for result in results if result.status == 'success' -%}
        {%- do succeeded.append(result.node.unique_id) -%}
    {%- endfor -%}
    {%- set statements = [] -%}
    {%- for producer in graph.nodes.values()
            if producer.resource_type == 'model' and (producer.config.meta or {}).get('touched_key') -%}
        {%- set consumers = [producer.unique_id] -%}
        {%- for node in graph.nodes.values()
                if node.resource_type == 'model' and node.config.materialized == 'incremental'
                and producer.unique_id in node.depends_on.nodes -%}
            {%- do consumers.append(node.unique_id) -%}
        {%- endfor -%}
        {%- if consumers | reject('in', succeeded) | list | length == 0 -%}
            {%- set side = api.Relation.create(database=producer.database, schema=producer.schema,
                                               identifier=(producer.alias or producer.name) ~ '__touched') -%}
            {%- do statements.append('create table if not exists ' ~ side ~ ' (touched_key varchar(200))') -%}
            {%- do statements.append('delete from ' ~ side) -%}
        {%- endif -%}
    {%- endfor -%}
    {{ statements | join(';\n') }}
    {%- endif -%}
{%- endmacro %}
