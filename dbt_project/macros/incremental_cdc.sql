{#- Incremental staging on CDC change logs: a run reads only the events landed since the last one.

    raw.<connector>__<table> is the append-only change log, raw.<…>__current (the dbt source) its
    current state. A staging table keeps `source_key` (the event key: the source primary key as JSON)
    and `loaded_at`. A full build reads the current state; an incremental run reads the latest event
    of each key with an event landed after the table's newest `loaded_at` (the watermark): dbt's
    delete+insert on `source_key` replaces changed keys, and the pre-hook `delete_removed_source_keys()`
    removes keys whose latest event is a delete. Only the events of those keys are read, so a 1% change
    costs about 1% of a full build. `--full-refresh` rebuilds from the current state. -#}


{# The change log behind a `__current` source relation. #}
{% macro change_log_relation(current) -%}
    {{ return(current.incorporate(path={'identifier': current.identifier | replace('__current', '')})) }}
{%- endmacro %}


{# The latest event (by source position, as the current-state view ranks) of each key with an event
   landed since this staging table's watermark. Ranked among all the key's events, not only those
   landed since: an older version landing late (a late partition, a re-delivered file) leaves the key
   as it was. #}
{% macro latest_changes_since_watermark(current) -%}
    {%- set log = change_log_relation(current) -%}
    (
        select * from (
            select
                *,
                row_number() over (
                    partition by _key
                    order by _source_seq desc, _source_subseq desc,
                        case _op when 'r' then 0 when 'c' then 1 when 'u' then 2 else 3 end desc, _offset desc
                ) as _change_rank
            from {{ log }}
            where _key in (select _key from {{ log }} where _loaded_at > {{ watermark() }})
        ) as ranked
        where _change_rank = 1
    )
{%- endmacro %}


{# `select …` of the rows a staging model reads from `current` (its `source()`): all current rows, or
   the upserts since the watermark. Staging passes `source(...)` itself so unit tests can replace it. #}
{% macro cdc_source(current) -%}
    {%- if is_incremental() -%}
    select * from {{ latest_changes_since_watermark(current) }} as changes where _op <> 'd'
    {%- else -%}
    select * from {{ current }}
    {%- endif -%}
{%- endmacro %}


{# Pre-hook of every staging model: note the keys changed or deleted at the source since the watermark
   for the models built from staging (side table, macros/incremental_keys.sql; meta.touched_key is
   source_key), and drop the deleted ones; a build from scratch notes '*'. #}
{% macro delete_removed_source_keys() -%}
    {%- if model.sources -%}
    {%- set source_name, table_name = model.sources[0] -%}
    {{ ensure_touched_table(this.identifier) }};
    {%- if is_incremental() %}
    create temporary table changed_source_keys as
        select _key as source_key, _op from {{ latest_changes_since_watermark(source(source_name, table_name)) }} as changes;
    insert into {{ touched_relation(this.identifier) }} (touched_key) select source_key from changed_source_keys;
    delete from {{ this }} where source_key in (select source_key from changed_source_keys where _op = 'd');
    drop table changed_source_keys
    {%- else %}
    insert into {{ touched_relation(this.identifier) }} (touched_key) values ('*')
    {%- endif -%}
    {%- endif -%}
{%- endmacro %}
