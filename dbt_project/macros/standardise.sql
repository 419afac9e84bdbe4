{#- Standardising free text and coded values as departments record them. -#}

{# Free text as departments type it: half-width, trimmed, inner whitespace runs collapsed, '' → null. #}
{% macro clean_text(expression) -%}
    {{ return(adapter.dispatch('clean_text', 'citydata')(expression)) }}
{%- endmacro %}

{% macro default__clean_text(expression) -%}
    nullif(regexp_replace({{ default__half_width_stripped(expression) }}, '\s+', ' ', 'g'), '')
{%- endmacro %}

{# The same on DuckDB, cheaper: a value without a full-width character or control whitespace (nearly
   every value) only needs its spaces trimmed and runs of spaces collapsed. #}
{% macro duckdb__clean_text(expression) -%}
    {%- set trimmed = 'trim(' ~ expression ~ ", ' ')" -%}
    case
        when regexp_matches({{ expression }}, {{ full_width_class(control_whitespace()) }})
            then {{ default__clean_text(expression) }}
        when strpos({{ trimmed }}, '  ') > 0 then regexp_replace({{ trimmed }}, ' {2,}', ' ', 'g')
        else nullif({{ trimmed }}, '')
    end
{%- endmacro %}

{# 'male' / 'female' from how departments write gender (男/女, M/F, 1/2, male/female); else null. #}
{% macro standardise_gender(expression) -%}
    case lower({{ strip_whitespace(expression) }})
        when '男' then 'male' when 'm' then 'male' when 'male' then 'male' when '1' then 'male'
        when '女' then 'female' when 'f' then 'female' when 'female' then 'female' when '2' then 'female'
    end
{%- endmacro %}

{# An entity name as a comparison key: half-width, every whitespace removed, （）→(), and the
   limited-company suffix 有限责任公司 written 有限公司 (the two are the same legal form). #}
{% macro normalise_entity_name(expression) -%}
    nullif(replace(translate(regexp_replace({{ to_half_width(expression) }}, '\s+', '', 'g'), '（）', '()'),
        '有限责任公司', '有限公司'), '')
{%- endmacro %}
