{#- Small portable building blocks the identifier macros are made of. -#}

{# True when the whole of `expression` matches the regular expression `pattern` (no anchors needed). #}
{% macro matches_pattern(expression, pattern) -%}
    {{ return(adapter.dispatch('matches_pattern', 'citydata')(expression, pattern)) }}
{%- endmacro %}

{% macro default__matches_pattern(expression, pattern) -%}
    coalesce(({{ expression }}) ~ '^({{ pattern }})$', false)
{%- endmacro %}

{% macro duckdb__matches_pattern(expression, pattern) -%}
    coalesce(regexp_full_match({{ expression }}, '{{ pattern }}'), false)
{%- endmacro %}

{# The value 0-9 of the digit at 1-based `position` of `expression` (-1 if not a digit); never errors. #}
{% macro digit_at(expression, position) -%}
    (strpos('0123456789', substr({{ expression }}, {{ position }}, 1)) - 1)
{%- endmacro %}

{# The non-negative integer spelt by `length` digits from `position` (caller has checked they are digits). #}
{% macro number_at(expression, position, length) -%}
    ({% for i in range(length) %}{{ digit_at(expression, position + i) }} * {{ 10 ** (length - 1 - i) }}{% if not loop.last %} + {% endif %}{% endfor %})
{%- endmacro %}

{# Map full-width digits, Latin letters and the ideographic / no-break spaces to their ASCII forms. #}
{% macro to_half_width(expression) -%}
    translate({{ expression }},
        '０１２３４５６７８９ＡＢＣＤＥＦＧＨＩＪＫＬＭＮＯＰＱＲＳＴＵＶＷＸＹＺａｂｃｄｅｆｇｈｉｊｋｌｍｎｏｐｑｒｓｔｕｖｗｘｙｚ' || chr(12288) || chr(160),
        '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz  ')
{%- endmacro %}

{# Strip leading/trailing spaces, tabs and line breaks (what Python's str.strip removes in practice). #}
{% macro strip_whitespace(expression) -%}
    ltrim(rtrim({{ expression }}, ' ' || chr(9) || chr(10) || chr(11) || chr(12) || chr(13)), ' ' || chr(9) || chr(10) || chr(11) || chr(12) || chr(13))
{%- endmacro %}

{# A date from an ISO 'YYYYMMDD' string known to be a real date. #}
{% macro date_from_yyyymmdd(expression) -%}
    {{ return(adapter.dispatch('date_from_yyyymmdd', 'citydata')(expression)) }}
{%- endmacro %}

{% macro default__date_from_yyyymmdd(expression) -%}
    to_date({{ expression }}, 'YYYYMMDD')
{%- endmacro %}

{% macro duckdb__date_from_yyyymmdd(expression) -%}
    cast(try_strptime({{ expression }}, '%Y%m%d') as date)
{%- endmacro %}

{# The build's "as of" day, var('reference_date'), as a date literal. #}
{% macro reference_date() -%}
    cast('{{ var("reference_date") }}' as date)
{%- endmacro %}

{# Keyword that makes a CTE be computed once. PostgreSQL otherwise inlines a CTE (and a view) into
   every reference, repeating the long identifier expressions dozens of times per row; DuckDB
   eliminates common subexpressions itself, so it needs nothing. Use: `x as {{ materialized() }} (…)` #}
{% macro materialized() -%}
    {{ return(adapter.dispatch('materialized', 'citydata')()) }}
{%- endmacro %}

{% macro default__materialized() -%}{%- endmacro %}

{% macro postgres__materialized() -%}materialized{%- endmacro %}
