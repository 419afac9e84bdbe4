{#- Addresses as a comparison key, so that two spellings of one address are equal. -#}

{# The standard form of an address (portable: translate and regexp_replace only), in this order:
   full-width digits / letters / spaces → half-width; every whitespace removed; the city's own
   prefix (var address_city_prefix, a regular expression, default '天津市?': 天津市 or 天津) dropped
   from the start; a building number written 栋 / 幢 / 座 / 号楼 → 号楼; a unit written 单元 / 门 → 门;
   a trailing 室 or 号 after the room number dropped; '' → null. Two addresses that differ after
   this really are different addresses. #}
{% macro normalise_address(expression) -%}
    nullif(regexp_replace(regexp_replace(regexp_replace(regexp_replace(
        regexp_replace({{ to_half_width(expression) }}, '\s+', '', 'g'),
        '^({{ var("address_city_prefix", "天津市?") }})', ''),
        '([0-9]+)(号楼|栋|幢|座)', '\1号楼', 'g'),
        '([0-9]+)(单元|门)', '\1门', 'g'),
        '([0-9]+)(室|号)$', '\1'), '')
{%- endmacro %}
