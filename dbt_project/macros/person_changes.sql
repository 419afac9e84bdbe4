{#- Which persons an incremental run of a person-keyed model rebuilds. -#}

{# The ID numbers whose identifier occurrences changed, and their spouses: a spouse's death turns a
   standing marriage into widowhood. A `select id_number …` for use in `in (…)`. #}
{% macro changed_persons_and_spouses() -%}
    select touched_key as id_number from {{ changed_keys('int_person_identifiers_unioned') }} as changed
    union
    select spouse.id_number
    from {{ ref('int_person_identifiers_unioned') }} as partner
    inner join {{ ref('int_person_identifiers_unioned') }} as spouse
        on partner.source_table = 'civil_affairs__marriages'
        and spouse.source_table = partner.source_table
        and spouse.source_record_id = partner.source_record_id
        and spouse.source_column <> partner.source_column
    where partner.id_number in {{ changed_keys('int_person_identifiers_unioned') }}
{%- endmacro %}
