-- The population library's grain: every valid normalised ID number in the population sources is a
-- person, and nothing else is. Returns the IDs on either side that break it.
with

identifiers as (select * from {{ ref('int_person_identifiers_unioned') }}),
persons as (select * from {{ ref('persons') }}),

valid_ids as (
    select distinct id_number from identifiers where is_valid
),

missing as (
    select id_number, 'valid id without a person' as problem from valid_ids
    where id_number not in (select person_id from persons)
),

extra as (
    select person_id, 'person without a valid id' from persons
    where person_id not in (select id_number from valid_ids)
)

select * from missing
union all
select * from extra
