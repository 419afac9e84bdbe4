{# Similarity 0..1 of two names: Jaro-Winkler where the engine has it, exact agreement otherwise; null (no
   evidence either way, left out of the score) when either name is missing, on every engine. #}
{% macro name_similarity(left, right) -%}
    {{ return(adapter.dispatch('name_similarity', 'citydata')(left, right)) }}
{%- endmacro %}

{% macro default__name_similarity(left, right) -%}
    case when {{ left }} is null or {{ right }} is null then null when {{ left }} = {{ right }} then 1.0 else 0.0 end
{%- endmacro %}

{% macro duckdb__name_similarity(left, right) -%}
    jaro_winkler_similarity({{ left }}, {{ right }})
{%- endmacro %}
