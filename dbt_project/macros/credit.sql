{#- Rules of the credit library. -#}

{# Whether a credit record is publicly visible on var('reference_date') (信用公示): a penalty until its
   publicity_until (信用修复 after), a dishonest-debtor listing while listed, a tax rating at level A,
   everything else always. #}
{% macro is_publicly_visible() -%}
    case record_type
        when 'penalty' then publicity_until is null or publicity_until >= {{ reference_date() }}
        when 'dishonest_debtor' then status = 'listed'
        when 'tax_rating' then tax_credit_rating = 'A'
        else true
    end
{%- endmacro %}
