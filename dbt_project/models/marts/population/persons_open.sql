-- Open population microdata (开放人口微观数据): one row per living person of the population library,
-- with no identifier and the birth date cut to the month. Published only after the k-anonymity
-- check (circulation/kanon.py, policies/usage.yaml: quasi_identifiers) generalises or suppresses
-- what would single a person out.
{{ config(materialized='view') }}

select
    gender,
    substr(cast(birth_date as {{ dbt.type_string() }}), 1, 7) as birth_month,
    division_code,
    marital_status,
    registration_status
from {{ ref('persons') }}
where not is_deceased
