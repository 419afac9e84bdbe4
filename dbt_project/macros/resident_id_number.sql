{#- Resident ID numbers (GB 11643): normalisation, validity with a reason, and what the number encodes.
    "Valid" means what python-stdnum's stdnum.cn.ric.is_valid means (length, digits, check char, real
    birth date, area code known for the birth year in seed gb2260_divisions), plus: born on or before
    var('reference_date'). tests/dbt/test_validators_differential.py holds the two to the same answers. -#}


{# The GB 11643 check character for 17 digit expressions: '10X98765432'[Σ digit·weight mod 11]. #}
{% macro gb11643_check_char(digits) -%}
    {%- set weights = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2] -%}
    substr('10X98765432', ({% for d in digits %}{{ d }} * {{ weights[loop.index0] }}{% if not loop.last %} + {% endif %}{% endfor %}) % 11 + 1, 1)
{%- endmacro %}

{# Normalise as recorded → canonical: half-width, stripped, upper-case X; a 15-digit legacy number is
   upgraded to 18 digits ('19' after the area code, check char appended). Empty → null. #}
{% macro normalise_id_number(expression) -%}
    {{ return(adapter.dispatch('normalise_id_number', 'citydata')(expression)) }}
{%- endmacro %}

{% macro default__normalise_id_number(expression) -%}
    {%- set cleaned = 'upper(' ~ half_width_stripped(expression) ~ ')' -%}
    {%- set legacy_digits = [] -%}
    {%- for position in range(1, 7) -%}{%- do legacy_digits.append(digit_at(cleaned, position)) -%}{%- endfor -%}
    {%- do legacy_digits.extend(['1', '9']) -%}
    {%- for position in range(7, 16) -%}{%- do legacy_digits.append(digit_at(cleaned, position)) -%}{%- endfor -%}
    case
        when {{ matches_pattern(cleaned, '[0-9]{15}') }}
            then substr({{ cleaned }}, 1, 6) || '19' || substr({{ cleaned }}, 7, 9) || {{ gb11643_check_char(legacy_digits) }}
        else nullif({{ cleaned }}, '')
    end
{%- endmacro %}

{# Why a normalised ID number is not valid, or null when it is. #}
{% macro id_number_invalid_reason(expression) -%}
    {{ return(adapter.dispatch('id_number_invalid_reason', 'citydata')(expression)) }}
{%- endmacro %}

{% macro default__id_number_invalid_reason(expression) -%}
    {%- set digits = [] -%}
    {%- for position in range(1, 18) -%}{%- do digits.append(digit_at(expression, position)) -%}{%- endfor -%}
    {%- set year = number_at(expression, 7, 4) -%}
    {%- set month = number_at(expression, 11, 2) -%}
    {%- set day = number_at(expression, 13, 2) -%}
    case
        when {{ expression }} is null or {{ expression }} = '' then 'missing'
        when length({{ expression }}) <> 18 then 'wrong_length'
        when not {{ matches_pattern(expression, '[0-9]{17}[0-9X]') }} then 'bad_format'
        when substr({{ expression }}, 18, 1) <> {{ gb11643_check_char(digits) }} then 'wrong_check_char'
        when {{ year }} < 1 or {{ month }} not between 1 and 12 or {{ day }} < 1
            or {{ day }} > case
                when {{ month }} in (4, 6, 9, 11) then 30
                when {{ month }} <> 2 then 31
                when ({{ year }} % 4 = 0 and {{ year }} % 100 <> 0) or {{ year }} % 400 = 0 then 29
                else 28
            end then 'invalid_birth_date'
        when substr({{ expression }}, 7, 8) > '{{ var("reference_date") | replace("-", "") }}' then 'birth_date_in_future'
        when not exists (
            select 1 from {{ ref('gb2260_divisions') }} as division
            where division.division_code = substr({{ expression }}, 1, 6)
                and (division.valid_from_year is null or division.valid_from_year <= {{ year }})
                and (division.valid_to_year is null or division.valid_to_year >= {{ year }})
        ) then 'unknown_area_code'
    end
{%- endmacro %}

{# True when the verdict `invalid_reason` once given on the normalised ID number `expression` is no longer
   what id_number_invalid_reason says because var('reference_date') moved past or before its birth date. #}
{% macro id_number_verdict_moved(expression, invalid_reason) -%}
    {%- set reference_day = var("reference_date") | replace("-", "") -%}
    (({{ invalid_reason }} = 'birth_date_in_future' and substr({{ expression }}, 7, 8) <= '{{ reference_day }}')
        or (({{ invalid_reason }} is null or {{ invalid_reason }} = 'unknown_area_code')
            and substr({{ expression }}, 7, 8) > '{{ reference_day }}'))
{%- endmacro %}

{# True when a normalised ID number is valid (see id_number_invalid_reason). #}
{% macro is_valid_id_number(expression) -%}
    ({{ id_number_invalid_reason(expression) }} is null)
{%- endmacro %}

{# 'male' / 'female' from the 17th digit (odd = male) of a valid normalised ID number. #}
{% macro gender_from_id_number(expression) -%}
    {{ return(adapter.dispatch('gender_from_id_number', 'citydata')(expression)) }}
{%- endmacro %}

{% macro default__gender_from_id_number(expression) -%}
    case when {{ expression }} is null then null when {{ digit_at(expression, 17) }} % 2 = 1 then 'male' else 'female' end
{%- endmacro %}

{# The birth date (digits 7–14) of a valid normalised ID number. #}
{% macro birth_date_from_id_number(expression) -%}
    {{ return(adapter.dispatch('birth_date_from_id_number', 'citydata')(expression)) }}
{%- endmacro %}

{% macro default__birth_date_from_id_number(expression) -%}
    {{ date_from_yyyymmdd('substr(' ~ expression ~ ', 7, 8)') }}
{%- endmacro %}
