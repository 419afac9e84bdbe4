-- Feedback to departments (回流): one row per source record and column holding an ID number or
-- USCC that is not valid, with the reason and the department that must fix it at the source.
with

person_identifiers as (select * from {{ ref('int_person_identifiers_unioned') }}),
entity_identifiers as (select * from {{ ref('int_entity_identifiers_unioned') }}),
legal_representatives as (select * from {{ ref('int_legal_representatives_checked') }}),
credit_records as (select * from {{ ref('int_credit_records_unioned') }}),

invalid as (
    select source, source_table, source_column, source_record_id, 'resident_id' as identifier_type,
        id_number_as_recorded as value_as_recorded, id_number as normalised_value, invalid_reason
    from person_identifiers
    where not is_valid
    union all
    select source, source_table, source_column, source_record_id, 'uscc',
        uscc_as_recorded, uscc, invalid_reason
    from entity_identifiers
    where not is_valid
    union all
    select 'market_regulation', 'market_regulation__enterprises', 'legal_rep_id_number',
        cast(enterprise_id as varchar(32)), 'resident_id', legal_rep_id_number_as_recorded, legal_rep_id_number,
        invalid_reason
    from legal_representatives
    where not is_valid
    union all
    select source,
        case source when 'court' then 'court__dishonest_debtors' else 'ndrc__sanctions' end,
        'subject_code', substr(credit_record_id, strpos(credit_record_id, ':') + 1),
        case subject_type when 'person' then 'resident_id' when 'entity' then 'uscc' else 'unknown' end,
        subject_code_as_recorded, subject_code, subject_code_invalid_reason
    from credit_records
    where not is_subject_code_valid and source in ('court', 'ndrc')
),

final as (
    select
        source_table || '.' || source_column || ':' || source_record_id as invalid_identifier_id,
        invalid.*,
        source as department_to_fix
    from invalid
)

select * from final
