{#- Unified social credit codes (GB 32100): normalisation and validity with a reason, matching
    python-stdnum's stdnum.cn.uscc (which checks length, alphabet and the check character only — not
    the embedded organisation code's own check character). -#}

{# Normalise as recorded → canonical: half-width, upper-case, spaces and hyphens removed. Empty → null. #}
{% macro normalise_uscc(expression) -%}
    {{ return(adapter.dispatch('normalise_uscc', 'citydata')(expression)) }}
{%- endmacro %}

{% macro default__normalise_uscc(expression) -%}
    nullif(upper(regexp_replace(
        translate({{ to_half_width(expression) }}, chr(65293) || chr(8208) || chr(8209) || chr(8210) || chr(8211) || chr(8212) || chr(8213) || chr(8722), '--------'),
        '[\s-]', '', 'g')), '')
{%- endmacro %}

{# Why a normalised USCC is not valid, or null when it is: check = alphabet[(31 − Σ index·weight mod 31) mod 31]. #}
{% macro uscc_invalid_reason(expression) -%}
    {{ return(adapter.dispatch('uscc_invalid_reason', 'citydata')(expression)) }}
{%- endmacro %}

{% macro default__uscc_invalid_reason(expression) -%}
    {%- set alphabet = '0123456789ABCDEFGHJKLMNPQRTUWXY' -%}
    {%- set weights = [1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28] -%}
    case
        when {{ expression }} is null or {{ expression }} = '' then 'missing'
        when length({{ expression }}) <> 18 then 'wrong_length'
        when not {{ matches_pattern(expression, '[0-9]{8}[' ~ alphabet ~ ']{10}') }} then 'bad_format'
        when substr({{ expression }}, 18, 1) <> substr('{{ alphabet }}', (31 - ({% for w in weights %}(strpos('{{ alphabet }}', substr({{ expression }}, {{ loop.index }}, 1)) - 1) * {{ w }}{% if not loop.last %} + {% endif %}{% endfor %}) % 31) % 31 + 1, 1)
            then 'wrong_check_char'
    end
{%- endmacro %}

{# True when a normalised USCC is valid (see uscc_invalid_reason). #}
{% macro is_valid_uscc(expression) -%}
    ({{ uscc_invalid_reason(expression) }} is null)
{%- endmacro %}
