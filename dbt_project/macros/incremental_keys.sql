{#- Incremental intermediate models: only the keys whose source records changed are rebuilt.

    A model built from staging records (one row per source record, `loaded_at` carried from staging)
    keeps itself current with `forget_stale_records()`: its pre-hooks note the subject keys of rows
    whose source record changed or disappeared (in a `<model>__touched` side table), then delete those
    rows; its batch derives the records landed after its newest `loaded_at`. Models keyed by subject
    rebuild the subjects `changed_keys()` names — touched plus newly landed — and the last of them
    empties the side table with `clear_touched_keys()`. -#}


{# The side table of keys touched since the dependents last consumed them. #}
{% macro touched_relation(model_name) -%}
    {%- set built = this if model_name == this.identifier else ref(model_name) -%}
    {{ return(api.Relation.create(database=built.database, schema=built.schema,
                                  identifier=built.identifier ~ '__touched')) }}
{%- endmacro %}


{% macro ensure_touched_table(model_name, key_column) -%}
    create table if not exists {{ touched_relation(model_name) }} ({{ key_column }} varchar(64))
{%- endmacro %}


{# Rows of `this` (alias `built`) whose staging record is gone or newer than the row. `records` lists
   (staging model, record id column); a row's source_table is the staging name without 'stg_'. #}
{% macro stale_record_condition(records) -%}
    not exists (
        select 1 from (
            {%- for model_name, record_id in records %}
            select '{{ model_name | replace("stg_", "", 1) }}' as source_table,
                cast({{ record_id }} as varchar(32)) as source_record_id, loaded_at
            from {{ ref(model_name) }}
            {% if not loop.last %}union all{% endif %}
            {%- endfor %}
        ) as current_records
        where current_records.source_table = built.source_table
            and current_records.source_record_id = built.source_record_id
            and current_records.loaded_at = built.loaded_at
    )
{%- endmacro %}


{# Pre-hooks: remember the `key_column` of stale rows, then delete them. #}
{% macro forget_stale_records(model_name, records, key_column) -%}
    {%- if is_incremental() -%}
    {{ ensure_touched_table(model_name, key_column) }};
    insert into {{ touched_relation(model_name) }} ({{ key_column }})
        select distinct {{ key_column }} from {{ this }} as built
        where {{ key_column }} is not null and {{ stale_record_condition(records) }};
    delete from {{ this }} as built where {{ stale_record_condition(records) }}
    {%- endif -%}
{%- endmacro %}


{# Only rows landed after this model's newest `loaded_at` (use inside a where clause). #}
{% macro landed_since_last_build(column='loaded_at') -%}
    {%- if is_incremental() -%}
    {{ column }} > (select coalesce(max(loaded_at), cast('1970-01-01' as timestamp with time zone)) from {{ this }})
    {%- else -%}
    true
    {%- endif -%}
{%- endmacro %}


{# The keys to rebuild: touched in `model_name` or landed in it since this model's last build. #}
{% macro changed_keys(model_name, key_column) -%}
    (
        select {{ key_column }} from {{ touched_relation(model_name) }}
        union
        select {{ key_column }} from {{ ref(model_name) }} where {{ landed_since_last_build() }}
    )
{%- endmacro %}


{# Post-hook of the last dependent: the touched keys are consumed. #}
{% macro clear_touched_keys(model_name, key_column) -%}
    {%- if is_incremental() -%}
    {{ ensure_touched_table(model_name, key_column) }};
    delete from {{ touched_relation(model_name) }}
    {%- endif -%}
{%- endmacro %}


{# Pre-hook of a subject-keyed dependent: drop the touched subjects (the batch re-adds those that remain). #}
{% macro delete_touched_keys(model_name, key_column, this_key_column) -%}
    {%- if is_incremental() -%}
    {{ ensure_touched_table(model_name, key_column) }};
    delete from {{ this }} where {{ this_key_column }} in (select {{ key_column }} from {{ touched_relation(model_name) }})
    {%- endif -%}
{%- endmacro %}
