{# A mainland mobile number as 11 digits ('13800138000'): full-width digits, spaces, dashes and a
   +86 / 0086 / 86 prefix removed; null when what is left is not 1[3-9] followed by 9 digits. #}
{% macro normalise_mobile(expression) -%}
    {{ return(adapter.dispatch('normalise_mobile', 'citydata')(expression)) }}
{%- endmacro %}

{% macro default__normalise_mobile(expression) -%}
    {%- set digits = "regexp_replace(" ~ to_half_width(expression) ~ ", '[^0-9]', '', 'g')" -%}
    case
        when {{ matches_pattern(digits, '1[3-9][0-9]{9}') }} then {{ digits }}
        when {{ matches_pattern(digits, '(0086|86)1[3-9][0-9]{9}') }} then right({{ digits }}, 11)
    end
{%- endmacro %}
