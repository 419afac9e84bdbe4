-- The population library (人口综合库): one row per natural person, keyed by the valid normalised
-- resident ID number, assembled from every population source by declared authority.
{{ config(
    materialized='incremental',
    unique_key='person_id',
    pre_hook="{{ delete_touched_keys('int_person_identifiers_unioned', 'person_id') }}",
) }}
-- Incremental: a run rebuilds only the persons whose identifier occurrences changed, and their
-- spouses (macros/person_changes.sql).
with

identifiers as (select * from {{ ref('int_person_identifiers_unioned') }}),
marital_statuses as (select * from {{ ref('int_person_marital_statuses_derived') }}),
deaths as (select * from {{ ref('int_person_deaths_deduplicated') }}),
employers as (select * from {{ ref('int_person_employers_selected') }}),

{% if is_incremental() %}
changed_persons as ({{ changed_persons_and_spouses() }}),
{% endif %}

survived as (
    select * from {{ ref('int_persons_survived') }}
    {% if is_incremental() %}where person_id in (select id_number from changed_persons){% endif %}
),

source_departments as (
    select
        id_number as person_id,
        {{ dbt.listagg('source', "','", 'order by source') }} as source_departments
    from (
        select distinct id_number, source from identifiers
        where is_valid {% if is_incremental() %}and id_number in (select id_number from changed_persons){% endif %}
    ) as sources
    group by id_number
),

final as (
    select
        survived.person_id,
        survived.person_name as name,
        survived.gender,
        survived.birth_date,
        survived.address,
        survived.division_code,
        survived.mobile,
        survived.household_id,
        survived.registration_status,
        coalesce(survived.registration_status = 'active', false) as is_registered_resident,
        marital_statuses.marital_status,
        marital_statuses.marital_status_since,
        deaths.person_id is not null as is_deceased,
        deaths.died_on,
        employers.employer_uscc,
        employers.employer_name,
        source_departments.source_departments,
        survived.person_name_source as name_source,
        survived.gender_source,
        survived.birth_date_source,
        survived.address_source,
        survived.loaded_at
    from survived
    left join marital_statuses on survived.person_id = marital_statuses.person_id
    left join deaths on survived.person_id = deaths.person_id
    left join employers on survived.person_id = employers.person_id
    left join source_departments on survived.person_id = source_departments.person_id
)

select * from final
