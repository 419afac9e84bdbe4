{# Similarity 0..1 of two names: Jaro-Winkler where the engine has it, exact agreement otherwise. #}
{% macro name_similarity(left, right) -%}
    {{ return(adapter.dispatch('name_similarity', 'citydata')(left, right)) }}
{%- endmacro %}

{% macro default__name_similarity(left, right) -%}
    case when {{ left }} = {{ right }} then 1.0 else 0.0 end
{%- endmacro %}

{% macro duckdb__name_similarity(left, right) -%}
    jaro_winkler_similarity({{ left }}, {{ right }})
{%- endmacro %}
