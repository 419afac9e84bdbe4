-- What the public sees of the credit library (信用公示): the credit records publicly visible on var
-- reference_date. A penalty past its publicity_until leaves this view (信用修复) but stays in
-- credit_records, the full history.
-- A view: a projection of what the build keeps current costs nothing to keep current.
{{ config(materialized='view') }}
with

records as (select * from {{ ref('credit_records') }}),

final as (
    select * from records
    where is_publicly_visible
)

select * from final
