{#- Standardising free text and coded values as departments record them. -#}

{# Free text as departments type it: half-width, trimmed, inner whitespace runs collapsed, '' → null. #}
{% macro clean_text(expression) -%}
    nullif(regexp_replace({{ strip_whitespace(to_half_width(expression)) }}, '\s+', ' ', 'g'), '')
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
