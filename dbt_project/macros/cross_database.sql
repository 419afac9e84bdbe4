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
    {{ return(adapter.dispatch('to_half_width', 'citydata')(expression)) }}
{%- endmacro %}

{% macro default__to_half_width(expression) -%}
    translate({{ expression }},
        '０１２３４５６７８９ＡＢＣＤＥＦＧＨＩＪＫＬＭＮＯＰＱＲＳＴＵＶＷＸＹＺａｂｃｄｅｆｇｈｉｊｋｌｍｎｏｐｑｒｓｔｕｖｗｘｙｚ' || chr(12288) || chr(160),
        '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz  ')
{%- endmacro %}

{# DuckDB's translate builds its character map for every row (~5 µs with this many characters), so
   it runs only on the few values holding one of the characters it maps; the result is the same. #}
{% macro duckdb__to_half_width(expression) -%}
    case when regexp_matches({{ expression }}, {{ full_width_class() }})
        then {{ default__to_half_width(expression) }} else {{ expression }} end
{%- endmacro %}

{# A regular-expression class of the characters to_half_width maps (０-９, Ａ-Ｚ, ａ-ｚ, U+3000, U+00A0). #}
{% macro full_width_class(extra='') -%}
    '[０-９Ａ-Ｚａ-ｚ' || chr(12288) || chr(160) {%- if extra %} || {{ extra }}{% endif %} || ']'
{%- endmacro %}

{# Strip leading/trailing spaces, tabs and line breaks (what Python's str.strip removes in practice). #}
{% macro strip_whitespace(expression) -%}
    {{ return(adapter.dispatch('strip_whitespace', 'citydata')(expression)) }}
{%- endmacro %}

{% macro default__strip_whitespace(expression) -%}
    ltrim(rtrim({{ expression }}, {{ whitespace_characters() }}), {{ whitespace_characters() }})
{%- endmacro %}

{# DuckDB's trim with a character list is slow as well: values without a control character (nearly
   all) are only space-trimmed, which is the same (trim without a list would take Unicode spaces too). #}
{% macro duckdb__strip_whitespace(expression) -%}
    case when regexp_matches({{ expression }}, '[' || {{ control_whitespace() }} || ']')
        then {{ default__strip_whitespace(expression) }} else trim({{ expression }}, ' ') end
{%- endmacro %}

{# to_half_width, then strip_whitespace, in one guarded expression on DuckDB (the two nested repeat the
   value a dozen times, which makes the long identifier expressions slow to plan). #}
{% macro half_width_stripped(expression) -%}
    {{ return(adapter.dispatch('half_width_stripped', 'citydata')(expression)) }}
{%- endmacro %}

{% macro default__half_width_stripped(expression) -%}
    {{ default__strip_whitespace(default__to_half_width(expression)) }}
{%- endmacro %}

{% macro duckdb__half_width_stripped(expression) -%}
    case when regexp_matches({{ expression }}, {{ full_width_class(control_whitespace()) }})
        then {{ default__half_width_stripped(expression) }} else trim({{ expression }}, ' ') end
{%- endmacro %}

{# Tab, line feed, vertical tab, form feed, carriage return. #}
{% macro control_whitespace() -%}
    chr(9) || chr(10) || chr(11) || chr(12) || chr(13)
{%- endmacro %}

{# The space and the control whitespace, as a character list for trim. #}
{% macro whitespace_characters() -%}
    ' ' || {{ control_whitespace() }}
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

{# `relation`'s rows with `verdict`: `check(value)` worked out once per distinct value of `column` (null and
   '' alike: every check here calls both missing) instead of once per row. Identifiers recur (an employer
   on every enrolment, a person in several sources), and the check is most of a model's work. #}
{% macro with_verdict_per_value(relation, column, check, verdict='invalid_reason') -%}
    select {{ relation }}.*, verdicts.{{ verdict }}
    from {{ relation }}
    inner join (
        select value_key, {{ check('value_key') }} as {{ verdict }}
        from (select distinct coalesce({{ column }}, '') as value_key from {{ relation }}) as distinct_values
    ) as verdicts on coalesce({{ relation }}.{{ column }}, '') = verdicts.value_key
{%- endmacro %}
